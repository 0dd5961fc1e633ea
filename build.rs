// Re-embed migrations when they change (diesel's embed_migrations! does not track them).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
