pub mod documents;
pub mod sandbox {
    pub mod schema;
}
