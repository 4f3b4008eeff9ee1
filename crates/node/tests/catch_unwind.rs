//! Every function the binding exports to JavaScript catches panics, so a bug
//! becomes a JavaScript error instead of aborting the process.

const SOURCES: &[(&str, &str)] = &[
  ("mask_builder.rs", include_str!("../src/mask_builder.rs")),
  ("update_task.rs", include_str!("../src/update_task.rs")),
  ("views.rs", include_str!("../src/views.rs")),
  ("options/mod.rs", include_str!("../src/options/mod.rs")),
  ("npy_file.rs", include_str!("../src/npy_file.rs")),
  ("resize.rs", include_str!("../src/resize.rs")),
];

/// `(file, line, attribute)` for each `#[napi(...)]` standing on its own
/// line in front of a function.
fn exported_functions() -> Vec<(&'static str, usize, String)> {
  let mut found = Vec::new();
  for (file, text) in SOURCES {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    for (i, line) in lines.iter().enumerate() {
      if !(line.starts_with("#[napi") && line.ends_with(']')) {
        continue;
      }
      let item = lines[i + 1..].iter().find(|l| !l.starts_with("#[") && !l.starts_with("///"));
      if item.is_some_and(|l| l.starts_with("pub fn ") || l.starts_with("fn ")) {
        found.push((*file, i + 1, line.to_string()));
      }
    }
  }
  found
}

#[test]
fn every_exported_function_catches_panics() {
  let exported = exported_functions();
  assert!(exported.len() >= 10, "found only {} exported functions", exported.len());
  let missing: Vec<_> = exported.iter().filter(|(_, _, attr)| !attr.contains("catch_unwind")).collect();
  assert!(missing.is_empty(), "#[napi] functions without catch_unwind: {missing:?}");
}
