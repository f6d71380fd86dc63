//! Re-embed the migrations when any file in `migrations/` changes
//! (`sqlx::migrate!` reads the directory at compile time).

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
