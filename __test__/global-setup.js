// Provisions what the tests compare against before any test runs (once per
// jest run, in the parent process). A failure does not stop the run: the
// tests that need the missing oracle fail with the message saying how to get it.
module.exports = async () => {
  const { provisionTestPython } = await import('../scripts/test-python.mjs');
  const failed = provisionTestPython({ log: (line) => process.stderr.write(`\n${line}\n`) });
  if (failed) process.stderr.write(`\n${failed}\n`);
};
