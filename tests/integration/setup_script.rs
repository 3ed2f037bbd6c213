//! `scripts/ensure-deps.sh`, the set-up both README commands run first: what it decides is
//! missing, checked with `--dry-run` against fake machine roots (no package is installed).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/ensure-deps.sh")
}

/// A fresh, empty fake root under the target directory.
fn fake_root(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("ensure-deps-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// An empty file at `rel`; under `usr/bin` it is executable, as a real program is.
fn touch(root: &Path, rel: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, b"").unwrap();
    if rel.starts_with("usr/bin/") {
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// The packages the script would install (`--dry-run`), with LIBCLANG_PATH as given.
fn would_install(root: &Path, libclang_path: Option<&Path>, extra: &[&str]) -> Vec<String> {
    let mut cmd = Command::new("bash");
    cmd.arg(script())
        .arg("--dry-run")
        .arg("--root")
        .arg(root)
        .args(extra);
    cmd.env_remove("LIBCLANG_PATH");
    if let Some(p) = libclang_path {
        cmd.env("LIBCLANG_PATH", p);
    }
    let out = cmd.output().expect("bash runs");
    assert!(
        out.status.success(),
        "dry run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let line = stdout.lines().last().unwrap_or_default();
    if line == "nothing to install" {
        return Vec::new();
    }
    let list = line
        .strip_prefix("would install: ")
        .unwrap_or_else(|| panic!("unexpected output {stdout:?}"));
    list.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn libclang_cpp_alone_is_not_libclang() {
    // The state of a fresh Debian machine: LLVM's C++ library is there, bindgen's libclang is not.
    let root = fake_root("cpp-only");
    touch(&root, "usr/lib/llvm-14/lib/libclang-cpp.so.14");
    touch(&root, "usr/bin/cmake");
    assert_eq!(would_install(&root, None, &[]), ["libclang-dev"]);
}

#[test]
fn an_empty_machine_needs_cmake_and_libclang() {
    let root = fake_root("empty");
    assert_eq!(would_install(&root, None, &[]), ["cmake", "libclang-dev"]);
}

#[test]
fn each_file_bindgen_loads_counts_as_libclang() {
    for file in [
        "usr/lib/llvm-14/lib/libclang.so",
        "usr/lib/llvm-14/lib/libclang.so.1",
        "usr/lib/llvm-16/lib/libclang-16.so",
        "usr/lib/x86_64-linux-gnu/libclang-14.so.14.0.6",
        "usr/lib/libclang.so.13",
    ] {
        let root = fake_root("one-file");
        touch(&root, "usr/bin/cmake");
        touch(&root, file);
        assert_eq!(would_install(&root, None, &[]), Vec::<String>::new(), "{file}");
    }
}

#[test]
fn other_llvm_libraries_do_not_count() {
    for file in [
        "usr/lib/llvm-14/lib/libclang-cpp.so",
        "usr/lib/llvm-14/lib/libclangBasic.a",
        "usr/lib/llvm-14/lib/libclang_rt.asan.so",
        "usr/lib/x86_64-linux-gnu/libclang-cpp.so.14",
    ] {
        let root = fake_root("other-file");
        touch(&root, "usr/bin/cmake");
        touch(&root, file);
        assert_eq!(would_install(&root, None, &[]), ["libclang-dev"], "{file}");
    }
}

#[test]
fn libclang_path_is_honoured() {
    let root = fake_root("libclang-path");
    touch(&root, "usr/bin/cmake");
    let own = fake_root("libclang-path-own");
    touch(&own, "libclang.so.18");
    assert_eq!(would_install(&root, Some(&own), &[]), Vec::<String>::new());
    // The file itself may be named too.
    assert_eq!(
        would_install(&root, Some(&own.join("libclang.so.18")), &[]),
        Vec::<String>::new()
    );
    // A LIBCLANG_PATH without libclang falls back to the machine's own.
    let wrong = fake_root("libclang-path-wrong");
    touch(&wrong, "libclang-cpp.so.14");
    assert_eq!(would_install(&root, Some(&wrong), &[]), ["libclang-dev"]);
}

#[test]
fn extra_packages_are_reported_on_a_fake_root() {
    let root = fake_root("extra");
    touch(&root, "usr/bin/cmake");
    touch(&root, "usr/lib/llvm-14/lib/libclang.so.1");
    assert_eq!(would_install(&root, None, &["chromium"]), ["chromium"]);
}
