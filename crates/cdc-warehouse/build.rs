//! Binaries and tests of this crate load the prebuilt libduckdb at run time from where it was linked
//! (`DUCKDB_LIB_DIR`, set by .cargo/config.toml), so nobody needs LD_LIBRARY_PATH.
fn main() {
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    if let Ok(dir) = std::env::var("DUCKDB_LIB_DIR") {
        if !std::path::Path::new(&dir).join("libduckdb.so").exists() {
            println!("cargo:warning=libduckdb.so is missing in {dir}: run scripts/install-deps.sh");
        }
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
