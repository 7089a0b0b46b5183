#[test]
fn parse_full() {
    let t = std::time::Instant::now();
    let src =
        std::fs::read_to_string("/work/shared/marketplace-specs/shopify/admin_2025-01.graphql")
            .unwrap();
    let s = apollo_compiler::Schema::parse_and_validate(src, "admin.graphql");
    match s {
        Ok(s) => eprintln!("ok {} types in {:?}", s.types.len(), t.elapsed()),
        Err(e) => eprintln!(
            "ERR {}",
            e.errors.to_string().chars().take(3000).collect::<String>()
        ),
    }
}
