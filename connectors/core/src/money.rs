//! Money: a `Decimal` amount and an ISO 4217 currency code. Never `f64`.
//!
//! A currency code is kept as data even when it is not a known ISO 4217 code: an order in an
//! unknown currency is an *audit* concern (the daemon quarantines it with a reason), not a
//! mapping failure. Only a code that is not even shaped like one (`[A-Z]{3}`) fails to map.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize};

/// A three-letter upper-case currency code. `is_known()` tells whether it is in ISO 4217.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

/// Why a string is not shaped like a currency code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a currency code (three letters A-Z expected): {0:?}")]
pub struct InvalidCurrency(pub String);

/// Active ISO 4217 codes with their minor units (decimal places). Codes absent here are
/// "unknown"; their minor units default to 2.
const KNOWN: &[(&str, u32)] = &[
    ("AED", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("MAD", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PEN", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("USD", 2),
    ("VND", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("ZAR", 2),
];

impl Currency {
    pub const USD: Currency = Currency(*b"USD");
    pub const EUR: Currency = Currency(*b"EUR");
    pub const GBP: Currency = Currency(*b"GBP");
    pub const CNY: Currency = Currency(*b"CNY");
    pub const JPY: Currency = Currency(*b"JPY");

    /// Accepts any `[A-Za-z]{3}` (upper-cased); surrounding whitespace is trimmed.
    pub fn new(code: &str) -> Result<Self, InvalidCurrency> {
        let t = code.trim().as_bytes();
        if t.len() == 3 && t.iter().all(|b| b.is_ascii_alphabetic()) {
            Ok(Currency([
                t[0].to_ascii_uppercase(),
                t[1].to_ascii_uppercase(),
                t[2].to_ascii_uppercase(),
            ]))
        } else {
            Err(InvalidCurrency(code.to_string()))
        }
    }

    pub fn code(&self) -> &str {
        // The bytes are ASCII letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    pub fn is_known(&self) -> bool {
        KNOWN.iter().any(|(c, _)| *c == self.code())
    }

    /// Decimal places of the currency's minor unit (2 when unknown).
    pub fn minor_units(&self) -> u32 {
        KNOWN
            .iter()
            .find(|(c, _)| *c == self.code())
            .map(|(_, m)| *m)
            .unwrap_or(2)
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = InvalidCurrency;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::new(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::new(&s).map_err(serde::de::Error::custom)
    }
}

/// An amount in a currency. Arithmetic across currencies is refused, not converted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount: Decimal,
    pub currency: Currency,
}

/// Two amounts in different currencies were combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("currency mismatch: {0} vs {1}")]
pub struct CurrencyMismatch(pub Currency, pub Currency);

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self::new(Decimal::ZERO, currency)
    }

    pub fn checked_add(self, other: Money) -> Result<Money, CurrencyMismatch> {
        if self.currency != other.currency {
            return Err(CurrencyMismatch(self.currency, other.currency));
        }
        Ok(Money::new(self.amount + other.amount, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, CurrencyMismatch> {
        self.checked_add(Money::new(-other.amount, other.currency))
    }

    /// Rounded half-even (banker's rounding, as Odoo's default) to the currency's minor unit.
    pub fn rounded(self) -> Money {
        Money::new(
            self.amount.round_dp_with_strategy(
                self.currency.minor_units(),
                RoundingStrategy::MidpointNearestEven,
            ),
            self.currency,
        )
    }

    /// Sum of amounts that must all be in `currency`.
    pub fn sum<'a>(
        currency: Currency,
        items: impl IntoIterator<Item = &'a Money>,
    ) -> Result<Money, CurrencyMismatch> {
        items
            .into_iter()
            .try_fold(Money::zero(currency), |acc, m| acc.checked_add(*m))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn currency_shapes() {
        assert_eq!(Currency::new("usd").unwrap(), Currency::USD);
        assert!(Currency::new("US").is_err());
        assert!(Currency::new("U$D").is_err());
        assert!(Currency::new("dollars").is_err());
        let xyz = Currency::new("XYZ").unwrap();
        assert!(!xyz.is_known(), "kept as data, flagged by audit");
        assert!(Currency::EUR.is_known());
        assert_eq!(Currency::JPY.minor_units(), 0);
        assert_eq!(Currency::new("KWD").unwrap().minor_units(), 3);
    }

    #[test]
    fn money_arithmetic_refuses_mixed_currencies() {
        let a = Money::new(dec!(1.10), Currency::EUR);
        let b = Money::new(dec!(2.20), Currency::EUR);
        assert_eq!(a.checked_add(b).unwrap().amount, dec!(3.30));
        assert!(a.checked_add(Money::new(dec!(1), Currency::USD)).is_err());
        assert_eq!(
            Money::new(dec!(2.345), Currency::EUR).rounded().amount,
            dec!(2.34)
        );
        assert_eq!(
            Money::new(dec!(2.355), Currency::EUR).rounded().amount,
            dec!(2.36)
        );
        assert_eq!(
            Money::new(dec!(120.5), Currency::JPY).rounded().amount,
            dec!(120)
        );
    }

    #[test]
    fn money_serialises_amount_as_string() {
        let m = Money::new(dec!(19.99), Currency::USD);
        let v = serde_json::to_value(m).unwrap();
        assert_eq!(v, serde_json::json!({"amount": "19.99", "currency": "USD"}));
        let back: Money = serde_json::from_value(v).unwrap();
        assert_eq!(back, m);
    }
}
