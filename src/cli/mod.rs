//! (placeholder: see ARCHITECTURE.md)
pub fn main() -> i32 {
    0
}
