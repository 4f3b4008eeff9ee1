// Draws the benchmark's speedups (native over the pure-JS backend and over
// the reference) as an SVG bar chart on a log scale.

const TARGETS = { W1: { js: 4, reference: 2 }, W3: { reference: 30 }, W4: { reference: 5 } };
const COLORS = { js: '#3b7dd8', reference: '#e0873a' };
const LABELS = { js: 'native / pure-JS backend', reference: 'native / reference (ratiopath)' };

const escapeXml = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function renderChart(results) {
  const series = ['js', 'reference'].filter((k) =>
    results.some((e) => (k === 'js' ? e.speedupOverJs : e.speedupOverReference) != null),
  );
  const value = (e, k) => (k === 'js' ? e.speedupOverJs : e.speedupOverReference);
  const max = Math.max(2, ...results.flatMap((e) => series.map((k) => value(e, k) ?? 1)));
  const ticks = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].filter((t) => t <= max * 1.5);
  const top = Math.max(...ticks, max) * 1.15;
  const left = 190;
  const width = 560;
  const barH = 16;
  const groupH = series.length * (barH + 4) + 18;
  const height = 70 + results.length * groupH + 40;
  const x = (v) => left + (Math.log10(Math.max(v, 1)) / Math.log10(top)) * width;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 80}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="22" font-size="14" font-weight="bold">Speedup of the native backend (median of per-round ratios, log scale)</text>`,
  ];
  for (const t of ticks) {
    parts.push(`<line x1="${x(t)}" y1="40" x2="${x(t)}" y2="${height - 40}" stroke="#ddd"/>`);
    parts.push(`<text x="${x(t)}" y="${height - 24}" text-anchor="middle" fill="#555">${t}x</text>`);
  }
  results.forEach((e, g) => {
    const y0 = 50 + g * groupH;
    parts.push(
      `<text x="${left - 10}" y="${y0 + groupH / 2 - 4}" text-anchor="end">${escapeXml(`${e.workload} ${e.title}`)}</text>`,
    );
    series.forEach((k, i) => {
      const v = value(e, k);
      const y = y0 + i * (barH + 4);
      if (v == null) return;
      parts.push(`<rect x="${left}" y="${y}" width="${Math.max(1, x(v) - left)}" height="${barH}" fill="${COLORS[k]}"/>`);
      parts.push(`<text x="${x(v) + 4}" y="${y + barH - 4}">${v.toFixed(v >= 10 ? 0 : 1)}x</text>`);
      const target = TARGETS[e.workload]?.[k];
      if (target) {
        parts.push(
          `<line x1="${x(target)}" y1="${y - 2}" x2="${x(target)}" y2="${y + barH + 2}" stroke="#111" stroke-width="2" stroke-dasharray="3,2"/>`,
        );
      }
    });
  });
  const ly = height - 8;
  series.forEach((k, i) => {
    const lx = left + i * 260;
    parts.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[k]}"/>`);
    parts.push(`<text x="${lx + 16}" y="${ly}">${LABELS[k]}</text>`);
  });
  parts.push(`<text x="${left + width + 75}" y="${ly}" text-anchor="end" fill="#555">dashed: target</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
