//! Every function the binding exports to JavaScript catches panics, so a bug
//! becomes a JavaScript error instead of aborting the process.

/// Every Rust file of the binding, found by walking `src/` (so a new file
/// cannot be missed), as `(path relative to src, text)`.
fn sources() -> Vec<(String, String)> {
  fn walk(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("src/ is readable").map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
      if path.is_dir() {
        walk(&path, root, out);
      } else if path.extension().is_some_and(|e| e == "rs") {
        let name = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        out.push((name, std::fs::read_to_string(&path).unwrap()));
      }
    }
  }
  let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
  let mut out = Vec::new();
  walk(&root, &root, &mut out);
  out
}

/// `(file, line, attribute)` for each `#[napi(...)]` standing on its own
/// line in front of a function.
fn exported_functions() -> Vec<(String, usize, String)> {
  let mut found = Vec::new();
  for (file, text) in sources() {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    for (i, line) in lines.iter().enumerate() {
      if !(line.starts_with("#[napi") && line.ends_with(']')) {
        continue;
      }
      let item = lines[i + 1..].iter().find(|l| !l.starts_with("#[") && !l.starts_with("///"));
      if item.is_some_and(|l| l.starts_with("pub fn ") || l.starts_with("fn ")) {
        found.push((file.clone(), i + 1, line.to_string()));
      }
    }
  }
  found
}

#[test]
fn every_exported_function_catches_panics() {
  let exported = exported_functions();
  assert!(exported.len() >= 10, "found only {} exported functions", exported.len());
  // Once missed by a hand-written list.
  assert!(exported.iter().any(|(file, ..)| file == "batch_buffer.rs"), "batch_buffer.rs not scanned");
  let missing: Vec<_> = exported.iter().filter(|(_, _, attr)| !attr.contains("catch_unwind")).collect();
  assert!(missing.is_empty(), "#[napi] functions without catch_unwind: {missing:?}");
}
