use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{Currency, CurrencyMismatch, FeeKind, Money};

/// A settlement (payout period): what the marketplace owes or paid the seller, line by line.
///
/// Signs are from the seller's point of view: sales positive, fees/refunds negative, and
/// `total` is the sum of the lines (the amount paid out).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settlement {
    pub external_id: String,
    pub period_start: Timestamp,
    pub period_end: Timestamp,
    pub payout_date: Option<Timestamp>,
    pub currency: Currency,
    pub total: Money,
    pub lines: Vec<SettlementLine>,
    pub updated_at: Timestamp,
    pub raw: serde_json::Value,
}

impl Settlement {
    pub fn lines_total(&self) -> Result<Money, CurrencyMismatch> {
        Money::sum(self.currency, self.lines.iter().map(|l| &l.amount))
    }

    /// Whether the lines add up to the stated total (an audit check, never assumed).
    pub fn is_balanced(&self) -> bool {
        self.lines_total()
            .map(|t| t.amount == self.total.amount && t.currency == self.total.currency)
            .unwrap_or(false)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettlementLine {
    /// Stable id of the line (transaction id), the key to never count a fee twice.
    pub external_line_id: String,
    pub order_external_id: Option<String>,
    pub kind: SettlementLineKind,
    pub sku: Option<String>,
    pub amount: Money,
    pub description: Option<String>,
    pub posted_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SettlementLineKind {
    Sale,
    Refund,
    Fee {
        fee: FeeKind,
    },
    Shipping,
    Tax,
    Adjustment,
    /// Money held back (or released) by the marketplace.
    Reserve,
    /// Transfer to the seller's bank.
    Payout,
    Other {
        raw: String,
    },
}
