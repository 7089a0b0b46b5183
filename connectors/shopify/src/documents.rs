//! Every GraphQL document the connector sends, in one place.
//!
//! Why a module of its own (a refinement of the connector pattern, see ARCHITECTURE.md): the
//! documents *are* the contract with Shopify. Keeping them as constants lets three things
//! check them without running the connector: the sandbox validates each incoming document
//! against the bundled schema subset, the contract test validates [`ALL`] against the full
//! official SDL in `../shared`, and the subset itself is generated from [`ALL`] (so it holds
//! exactly what the connector uses).
//!
//! Costs (Shopify's calculated query cost: objects 1, scalars/enums 0, connections
//! `2 + first × node`, mutations 10) are kept well under the 1,000-point single-query limit
//! with the default page sizes; see `config.rs`.

// Fragments. `concat!` needs literals, so each fragment is a macro expanding to one; a
// document lists the fragments it spreads. `BothMoney` is used for order totals (we import shop
// money and keep presentment amounts in `raw` for the audit), `ShopMoney` for line-level
// amounts (it halves their query cost).

/// The Admin API version every document is written for.
pub const API_VERSION: &str = "2025-01";

/// A document and the name of its (single) operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Document {
    pub name: &'static str,
    pub text: &'static str,
    pub is_mutation: bool,
}

macro_rules! doc {
    ($const:ident, $name:literal, $mutation:expr, $($part:expr),+ $(,)?) => {
        pub const $const: Document = Document {
            name: $name,
            text: concat!($($part),+),
            is_mutation: $mutation,
        };
    };
}

macro_rules! both_money {
    () => {
        r#"
fragment BothMoney on MoneyBag {
  shopMoney { amount currencyCode }
  presentmentMoney { amount currencyCode }
}"#
    };
}
macro_rules! shop_money {
    () => {
        r#"
fragment ShopMoney on MoneyBag {
  shopMoney { amount currencyCode }
}"#
    };
}
macro_rules! address {
    () => {
        r#"
fragment Address on MailingAddress {
  name firstName lastName company address1 address2 city provinceCode zip countryCodeV2 phone
}"#
    };
}
macro_rules! line_item {
    () => {
        r#"
fragment LineItemFields on LineItem {
  id sku name title variantTitle quantity currentQuantity
  originalUnitPriceSet { ...ShopMoney }
  discountedTotalSet { ...ShopMoney }
  discountAllocations {
    allocatedAmountSet { ...ShopMoney }
    discountApplication {
      __typename
      ... on DiscountCodeApplication { code }
      ... on ManualDiscountApplication { title }
      ... on AutomaticDiscountApplication { title }
      ... on ScriptDiscountApplication { title }
    }
  }
  taxLines { title rate channelLiable priceSet { ...ShopMoney } }
}"#
    };
}
macro_rules! order {
    () => {
        r#"
fragment OrderFields on Order {
  id legacyResourceId name email phone note tags test
  createdAt updatedAt processedAt cancelledAt cancelReason closedAt
  displayFinancialStatus displayFulfillmentStatus returnStatus
  currencyCode presentmentCurrencyCode taxesIncluded discountCodes
  customer { id firstName lastName email phone }
  shippingAddress { ...Address }
  billingAddress { ...Address }
  subtotalPriceSet { ...BothMoney }
  totalDiscountsSet { ...BothMoney }
  totalShippingPriceSet { ...BothMoney }
  totalTaxSet { ...BothMoney }
  totalPriceSet { ...BothMoney }
  taxLines { title rate channelLiable priceSet { ...ShopMoney } }
  shippingLines(first: 5) {
    nodes {
      title code source
      originalPriceSet { ...ShopMoney }
      discountedPriceSet { ...ShopMoney }
      taxLines { title rate channelLiable priceSet { ...ShopMoney } }
    }
  }
  lineItems(first: $lineItems) {
    pageInfo { hasNextPage endCursor }
    nodes { ...LineItemFields }
  }
}"#
    };
}

doc!(
    SHOP_INFO,
    "ShopInfo",
    false,
    r#"query ShopInfo {
  shop { id name myshopifyDomain currencyCode }
  location { id name isActive }
}"#
);

doc!(
    ORDERS_PAGE,
    "OrdersPage",
    false,
    r#"query OrdersPage($first: Int!, $after: String, $query: String, $lineItems: Int!) {
  orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes { ...OrderFields }
  }
}"#,
    order!(),
    line_item!(),
    address!(),
    both_money!(),
    shop_money!(),
);

doc!(
    ORDER_BY_ID,
    "OrderById",
    false,
    r#"query OrderById($id: ID!, $lineItems: Int!) {
  order(id: $id) { ...OrderFields }
}"#,
    order!(),
    line_item!(),
    address!(),
    both_money!(),
    shop_money!(),
);

doc!(
    ORDER_LINE_ITEMS,
    "OrderLineItems",
    false,
    r#"query OrderLineItems($id: ID!, $first: Int!, $after: String) {
  order(id: $id) {
    id
    lineItems(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { ...LineItemFields }
    }
  }
}"#,
    line_item!(),
    shop_money!(),
);

doc!(
    ORDER_REFUND_LINES,
    "OrderRefundLines",
    false,
    r#"query OrderRefundLines($id: ID!) {
  order(id: $id) {
    id
    refunds(first: 10) {
      id
      refundLineItems(first: 25) {
        nodes { quantity restockType lineItem { id } }
      }
    }
  }
}"#
);

doc!(
    VARIANTS_BY_SKU,
    "VariantsBySku",
    false,
    r#"query VariantsBySku($query: String!, $first: Int!, $locationId: ID!) {
  productVariants(first: $first, query: $query) {
    nodes {
      id sku price compareAtPrice
      product { id handle }
      inventoryItem {
        id tracked
        inventoryLevel(locationId: $locationId) {
          id updatedAt
          quantities(names: ["available"]) { name quantity }
        }
      }
    }
  }
}"#
);

doc!(
    SET_AVAILABLE,
    "SetAvailable",
    true,
    r#"mutation SetAvailable($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup {
      id reason
      changes { name delta quantityAfterChange item { id } location { id } }
    }
    userErrors { code field message }
  }
}"#
);

doc!(
    UPDATE_PRICES,
    "UpdatePrices",
    true,
    r#"mutation UpdatePrices($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants, allowPartialUpdates: true) {
    productVariants { id sku price compareAtPrice }
    userErrors { code field message }
  }
}"#
);

doc!(
    COLLECTIONS_BY_HANDLE,
    "CollectionsByHandle",
    false,
    r#"query CollectionsByHandle($query: String!, $first: Int!) {
  collections(first: $first, query: $query) {
    nodes { id handle title }
  }
}"#
);

doc!(
    PRODUCT_SET,
    "ProductSet",
    true,
    r#"mutation ProductSet($input: ProductSetInput!) {
  productSet(input: $input, synchronous: true) {
    product {
      id handle title status descriptionHtml vendor
      seo { title description }
      metafields(first: 50) { nodes { namespace key type value } }
      collections(first: 50) { nodes { id handle } }
      variants(first: 10) { nodes { id sku price compareAtPrice barcode } }
    }
    userErrors { code field message }
  }
}"#
);

doc!(
    FULFILLMENT_STATE,
    "FulfillmentState",
    false,
    r#"query FulfillmentState($id: ID!) {
  order(id: $id) {
    id cancelledAt displayFulfillmentStatus
    fulfillments(first: 50) {
      id status
      trackingInfo(first: 5) { number company url }
    }
    fulfillmentOrders(first: 5) {
      nodes {
        id status
        lineItems(first: 50) {
          pageInfo { hasNextPage }
          nodes { id remainingQuantity totalQuantity lineItem { id sku } }
        }
      }
    }
  }
}"#
);

doc!(
    CREATE_FULFILLMENT,
    "CreateFulfillment",
    true,
    r#"mutation CreateFulfillment($fulfillment: FulfillmentInput!, $message: String) {
  fulfillmentCreate(fulfillment: $fulfillment, message: $message) {
    fulfillment {
      id name status
      trackingInfo(first: 5) { number company url }
    }
    userErrors { field message }
  }
}"#
);

doc!(
    ORDER_STATUS,
    "OrderStatus",
    false,
    r#"query OrderStatus($id: ID!) {
  order(id: $id) {
    id cancelledAt cancelReason closed displayFinancialStatus displayFulfillmentStatus updatedAt
  }
}"#
);

doc!(
    CANCEL_ORDER,
    "CancelOrder",
    true,
    r#"mutation CancelOrder($orderId: ID!, $reason: OrderCancelReason!, $refund: Boolean!, $restock: Boolean!, $notifyCustomer: Boolean, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: $reason, refund: $refund, restock: $restock, notifyCustomer: $notifyCustomer, staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { code field message }
  }
}"#
);

doc!(
    REFUND_CONTEXT,
    "RefundContext",
    false,
    r#"query RefundContext($id: ID!) {
  order(id: $id) {
    id cancelledAt currencyCode
    refunds(first: 50) {
      id note createdAt
      totalRefundedSet { ...ShopMoney }
    }
    transactions(first: 20) {
      id kind status gateway
      amountSet { ...ShopMoney }
    }
  }
}"#,
    shop_money!(),
);

doc!(
    CREATE_REFUND,
    "CreateRefund",
    true,
    r#"mutation CreateRefund($input: RefundInput!) {
  refundCreate(input: $input) {
    refund {
      id note createdAt
      totalRefundedSet { ...ShopMoney }
    }
    userErrors { field message }
  }
}"#,
    shop_money!(),
);

doc!(
    RETURN_CONTEXT,
    "ReturnContext",
    false,
    r#"query ReturnContext($id: ID!) {
  order(id: $id) {
    id
    returns(first: 5) {
      nodes {
        id name status
        returnLineItems(first: 10) {
          nodes {
            __typename id quantity returnReason returnReasonNote
            ... on ReturnLineItem { fulfillmentLineItem { id lineItem { id sku } } }
          }
        }
      }
    }
    fulfillments(first: 10) {
      id
      fulfillmentLineItems(first: 20) {
        nodes { id quantity lineItem { id sku } }
      }
    }
  }
}"#
);

doc!(
    CREATE_RETURN,
    "CreateReturn",
    true,
    r#"mutation CreateReturn($input: ReturnInput!) {
  returnCreate(returnInput: $input) {
    return { id name status }
    userErrors { code field message }
  }
}"#
);

doc!(
    RETURNS_PAGE,
    "ReturnsPage",
    false,
    r#"query ReturnsPage($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id legacyResourceId name updatedAt returnStatus
      returns(first: 3) {
        nodes {
          id name status totalQuantity
          returnLineItems(first: 10) {
            nodes {
              __typename id quantity returnReason returnReasonNote customerNote
              ... on ReturnLineItem { fulfillmentLineItem { lineItem { id sku } } }
            }
          }
          refunds(first: 5) {
            nodes { id createdAt totalRefundedSet { ...ShopMoney } }
          }
        }
      }
    }
  }
}"#,
    shop_money!(),
);

doc!(
    PAYOUTS_PAGE,
    "PayoutsPage",
    false,
    r#"query PayoutsPage($first: Int!, $after: String, $query: String) {
  shopifyPaymentsAccount {
    id defaultCurrency
    payouts(first: $first, after: $after, sortKey: ISSUED_AT, query: $query) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id legacyResourceId issuedAt status transactionType
        net { amount currencyCode }
      }
    }
  }
}"#
);

doc!(
    PAYOUT_TRANSACTIONS,
    "PayoutTransactions",
    false,
    r#"query PayoutTransactions($first: Int!, $after: String, $query: String!) {
  shopifyPaymentsAccount {
    balanceTransactions(first: $first, after: $after, hideTransfers: true, query: $query) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id type test transactionDate sourceType sourceId adjustmentReason
        amount { amount currencyCode }
        fee { amount currencyCode }
        net { amount currencyCode }
        associatedOrder { id name }
        associatedPayout { id status }
      }
    }
  }
}"#
);

/// Every document the connector sends (the contract tests walk this list).
pub const ALL: &[Document] = &[
    SHOP_INFO,
    ORDERS_PAGE,
    ORDER_BY_ID,
    ORDER_LINE_ITEMS,
    ORDER_REFUND_LINES,
    VARIANTS_BY_SKU,
    SET_AVAILABLE,
    UPDATE_PRICES,
    COLLECTIONS_BY_HANDLE,
    PRODUCT_SET,
    FULFILLMENT_STATE,
    CREATE_FULFILLMENT,
    ORDER_STATUS,
    CANCEL_ORDER,
    REFUND_CONTEXT,
    CREATE_REFUND,
    RETURN_CONTEXT,
    CREATE_RETURN,
    RETURNS_PAGE,
    PAYOUTS_PAGE,
    PAYOUT_TRANSACTIONS,
];

/// Document by operation name.
pub fn by_name(name: &str) -> Option<&'static Document> {
    ALL.iter().find(|d| d.name == name)
}
