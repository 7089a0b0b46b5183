//! Contract tests against the official Shopify Admin GraphQL schema in `../shared`.
use std::path::PathBuf;

use apollo_compiler::Schema;
use apollo_compiler::validation::Valid;
use channel_shopify::documents;
use channel_shopify::sandbox::schema;

fn full_schema() -> Option<Valid<Schema>> {
    let shared = odoo_wire::reference::require_shared(
        "channel-shopify: Shopify Admin GraphQL 2025-01 contract",
    )?;
    let path = shared.join(schema::SHARED_SDL);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some(Schema::parse_and_validate(text, path).expect("the official SDL validates"))
}

#[test]
fn bundled_subset_is_derived_from_the_official_schema() {
    let Some(full) = full_schema() else { return };
    let texts: Vec<&str> = documents::ALL.iter().map(|d| d.text).collect();
    let generated = schema::subset_sdl(&full, &texts).expect("subset generates");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(schema::SUBSET_PATH);
    if std::env::var_os("SHOPIFY_SCHEMA_REGEN").is_some() {
        std::fs::write(&path, &generated).unwrap();
        eprintln!("regenerated {}", path.display());
        return;
    }
    let problems = schema::check_subset(&full, schema::bundled());
    assert!(
        problems.is_empty(),
        "bundled subset is not faithful:\n{}",
        problems.join("\n")
    );
    assert!(
        generated == schema::SUBSET_SDL,
        "{} is stale: regenerate with SHOPIFY_SCHEMA_REGEN=1 cargo test -p channel-shopify --test contract",
        schema::SUBSET_PATH
    );
}

#[tokio::test]
async fn smoke() {
    use channel_shopify::sandbox::*;
    let sb = ShopifySandbox::start(SandboxConfig::default())
        .await
        .unwrap();
    let id = sb
        .create_order(NewOrder {
            lines: vec![NewLine::sku("SKU-0001", 2)],
            ..Default::default()
        })
        .unwrap();
    let r = sb.execute(documents::ORDERS_PAGE.text, serde_json::json!({"first": 5, "lineItems": 5, "query": "updated_at:>='2020-01-01T00:00:00Z'"}));
    println!("{}", serde_json::to_string_pretty(&r).unwrap());
    let r = sb.execute(documents::VARIANTS_BY_SKU.text, serde_json::json!({"first": 5, "query": "sku:\"SKU-0001\"", "locationId": sb.primary_location()}));
    println!("{}", serde_json::to_string_pretty(&r).unwrap());
    let _ = id;
}

#[tokio::test]
async fn timing() {
    use channel_shopify::sandbox::*;
    let sb = ShopifySandbox::start(SandboxConfig { throttle: ThrottleConfig::PLUS, ..Default::default() }).await.unwrap();
    for _ in 0..240 { sb.create_order(NewOrder { lines: vec![NewLine::sku("SKU-0001", 2)], ..Default::default() }).unwrap(); }
    let t = std::time::Instant::now();
    for _ in 0..5 {
        let r = sb.execute(documents::ORDERS_PAGE.text, serde_json::json!({"first": 5, "lineItems": 10}));
        assert!(r.get("errors").is_none(), "{r}");
    }
    eprintln!("5 pages in-process: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let d = apollo_compiler::ExecutableDocument::parse_and_validate(schema::bundled(), documents::ORDERS_PAGE.text, "x").unwrap();
    eprintln!("parse+validate: {:?}", t.elapsed());
    drop(d);
}
