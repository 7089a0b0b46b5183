//! The price Odoo would charge through a pricelist, computed from the pricelist's rules.
//!
//! Odoo computes pricelist prices in private methods (`product.pricelist._get_product_price`,
//! `product.pricelist.item._compute_price`), which the external API refuses to call, and
//! since 16.0 no public field exposes a pricelist price. So the daemon reads the rules
//! (`product.pricelist.item`) and applies them itself, the way Odoo 17–19 does:
//!
//! 1. **Which rule**: the pricelist's items in Odoo's order (`applied_on` — variant, product,
//!    category, all —, then `min_quantity` desc, then category (the deepest first), then
//!    `id` desc); the first that matches the product (variant, its template, its category or
//!    an ancestor, or global), whose `min_quantity` ≤ the quantity (1 for a listing) and
//!    whose dates include now. No rule: the base price.
//! 2. **Base price** (`base`): the sales price (`lst_price` = list price + variant extra), the
//!    cost (`standard_price`), or another pricelist's price (recursively), converted from its
//!    currency (the company's, or the other pricelist's) into this pricelist's.
//! 3. **Compute**: `fixed` → `fixed_price` (already in the pricelist's currency);
//!    `percentage` → base × (1 − `percent_price`/100); `formula` → base × (1 −
//!    `price_discount`/100), rounded to a multiple of `price_round`, plus `price_surcharge`,
//!    then kept within base + `price_min_margin` and base + `price_max_margin`.
//! 4. The result is rounded with the target currency's rounding (half up, as Odoo).
//!
//! Pure: plain data in, a price out. What is not modelled (said here so nobody trusts it
//! blindly): UoM-specific rules (a listing is one unit of the product's UoM), pricelists
//! restricted by country group or website, and custom `_compute_price` overrides of other
//! addons. The unit tests below are hand-computed from Odoo 17–19's `_compute_price`; the
//! Odoo sandbox does not apply pricelist rules itself, so nothing here is cross-checked
//! against a running Odoo yet.

use std::collections::HashMap;

use jiff::Timestamp;
use rust_decimal::Decimal;

/// What a rule applies to, in Odoo's order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AppliedOn {
    /// `0_product_variant`
    Variant(i64),
    /// `1_product` (a template)
    Template(i64),
    /// `2_product_category`
    Category(i64),
    /// `3_global`
    Global,
}

impl AppliedOn {
    fn rank(&self) -> u8 {
        match self {
            AppliedOn::Variant(_) => 0,
            AppliedOn::Template(_) => 1,
            AppliedOn::Category(_) => 2,
            AppliedOn::Global => 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Compute {
    Fixed(Decimal),
    Percentage(Decimal),
    Formula {
        discount: Decimal,
        surcharge: Decimal,
        round: Decimal,
        min_margin: Decimal,
        max_margin: Decimal,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    ListPrice,
    Cost,
    /// Another pricelist's price.
    Pricelist(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: i64,
    pub applied_on: AppliedOn,
    pub min_quantity: Decimal,
    pub date_start: Option<Timestamp>,
    pub date_end: Option<Timestamp>,
    pub compute: Compute,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pricelist {
    pub id: i64,
    pub currency: i64,
    pub rules: Vec<Rule>,
}

/// A product as pricing needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct PricedProduct {
    pub id: i64,
    pub template: i64,
    /// Its category, then each ancestor up to the root.
    pub categories: Vec<i64>,
    /// `lst_price`: list price plus the variant's extra, in the company's currency.
    pub list_price: Decimal,
    /// `standard_price`, in the company's currency.
    pub cost: Decimal,
}

/// A currency's rate (against the company's currency, whose rate is 1) and rounding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurrencyInfo {
    pub rate: Decimal,
    pub rounding: Decimal,
}

/// Everything needed to price: pricelists, currencies, the company's currency.
#[derive(Debug, Clone, Default)]
pub struct Pricing {
    pub pricelists: HashMap<i64, Pricelist>,
    pub currencies: HashMap<i64, CurrencyInfo>,
    pub company_currency: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("pricelist #{0} is not known")]
    UnknownPricelist(i64),
    #[error("currency #{0} has no rate")]
    UnknownCurrency(i64),
    #[error("pricelist #{0} is based on itself (a loop of 'Other Pricelist' rules)")]
    Loop(i64),
}

/// Round half up to a multiple of `rounding` (Odoo's `float_round(precision_rounding=…)`).
pub fn round_to(value: Decimal, rounding: Decimal) -> Decimal {
    if rounding <= Decimal::ZERO {
        return value;
    }
    let steps = (value / rounding)
        .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    (steps * rounding).normalize()
}

impl Pricing {
    /// Convert `amount` from one currency to another at the current rates (unrounded).
    pub fn convert(&self, amount: Decimal, from: i64, to: i64) -> Result<Decimal, PriceError> {
        if from == to {
            return Ok(amount);
        }
        let f = self
            .currencies
            .get(&from)
            .ok_or(PriceError::UnknownCurrency(from))?;
        let t = self
            .currencies
            .get(&to)
            .ok_or(PriceError::UnknownCurrency(to))?;
        if f.rate.is_zero() {
            return Err(PriceError::UnknownCurrency(from));
        }
        Ok(amount * t.rate / f.rate)
    }

    /// Round with a currency's rounding.
    pub fn round(&self, amount: Decimal, currency: i64) -> Decimal {
        let rounding = self
            .currencies
            .get(&currency)
            .map_or(Decimal::new(1, 2), |c| c.rounding);
        round_to(amount, rounding)
    }

    /// The price of `qty` units of `product` through `pricelist`, in the pricelist's
    /// currency, rounded; and that currency.
    pub fn price(
        &self,
        pricelist: i64,
        product: &PricedProduct,
        qty: Decimal,
        now: Timestamp,
    ) -> Result<(Decimal, i64), PriceError> {
        let pl = self
            .pricelists
            .get(&pricelist)
            .ok_or(PriceError::UnknownPricelist(pricelist))?;
        let raw = self.raw_price(pl, product, qty, now, &mut Vec::new())?;
        Ok((self.round(raw, pl.currency), pl.currency))
    }

    fn raw_price(
        &self,
        pl: &Pricelist,
        product: &PricedProduct,
        qty: Decimal,
        now: Timestamp,
        seen: &mut Vec<i64>,
    ) -> Result<Decimal, PriceError> {
        if seen.contains(&pl.id) {
            return Err(PriceError::Loop(pl.id));
        }
        seen.push(pl.id);
        let rule = self.rule_for(pl, product, qty, now);
        let base = |base: Base, seen: &mut Vec<i64>| -> Result<Decimal, PriceError> {
            match base {
                Base::ListPrice => {
                    self.convert(product.list_price, self.company_currency, pl.currency)
                }
                Base::Cost => self.convert(product.cost, self.company_currency, pl.currency),
                Base::Pricelist(other) => {
                    let o = self
                        .pricelists
                        .get(&other)
                        .ok_or(PriceError::UnknownPricelist(other))?;
                    let p = self.raw_price(o, product, qty, now, seen)?;
                    self.convert(p, o.currency, pl.currency)
                }
            }
        };
        let price = match rule {
            None => base(Base::ListPrice, seen)?,
            Some(r) => match &r.compute {
                Compute::Fixed(p) => *p,
                Compute::Percentage(pct) => {
                    let b = base(r.base, seen)?;
                    b - b * pct / Decimal::ONE_HUNDRED
                }
                Compute::Formula {
                    discount,
                    surcharge,
                    round,
                    min_margin,
                    max_margin,
                } => {
                    let b = base(r.base, seen)?;
                    let mut p = b - b * discount / Decimal::ONE_HUNDRED;
                    if !round.is_zero() {
                        p = round_to(p, *round);
                    }
                    p += *surcharge;
                    if !min_margin.is_zero() {
                        p = p.max(b + *min_margin);
                    }
                    if !max_margin.is_zero() {
                        p = p.min(b + *max_margin);
                    }
                    p
                }
            },
        };
        seen.pop();
        Ok(price)
    }

    /// The first applicable rule, in Odoo's order.
    fn rule_for<'a>(
        &self,
        pl: &'a Pricelist,
        product: &PricedProduct,
        qty: Decimal,
        now: Timestamp,
    ) -> Option<&'a Rule> {
        let depth = |c: i64| {
            product
                .categories
                .iter()
                .position(|&x| x == c)
                .map_or(0, |i| product.categories.len() - i)
        };
        let mut candidates: Vec<&Rule> = pl
            .rules
            .iter()
            .filter(|r| match r.applied_on {
                AppliedOn::Variant(p) => p == product.id,
                AppliedOn::Template(t) => t == product.template,
                AppliedOn::Category(c) => product.categories.contains(&c),
                AppliedOn::Global => true,
            })
            .filter(|r| r.min_quantity <= qty)
            .filter(|r| r.date_start.is_none_or(|d| d <= now))
            .filter(|r| r.date_end.is_none_or(|d| d >= now))
            .collect();
        candidates.sort_by(|a, b| {
            a.applied_on
                .rank()
                .cmp(&b.applied_on.rank())
                .then(b.min_quantity.cmp(&a.min_quantity))
                .then_with(|| {
                    let da = match a.applied_on {
                        AppliedOn::Category(c) => depth(c),
                        _ => 0,
                    };
                    let db = match b.applied_on {
                        AppliedOn::Category(c) => depth(c),
                        _ => 0,
                    };
                    db.cmp(&da)
                })
                .then(b.id.cmp(&a.id))
        });
        candidates.first().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const USD: i64 = 1;
    const EUR: i64 = 125;

    fn pricing() -> Pricing {
        let mut currencies = HashMap::new();
        currencies.insert(
            USD,
            CurrencyInfo {
                rate: dec!(1),
                rounding: dec!(0.01),
            },
        );
        currencies.insert(
            EUR,
            CurrencyInfo {
                rate: dec!(1.2834),
                rounding: dec!(0.01),
            },
        );
        Pricing {
            pricelists: HashMap::new(),
            currencies,
            company_currency: USD,
        }
    }

    fn product() -> PricedProduct {
        PricedProduct {
            id: 15,
            template: 9,
            categories: vec![5, 4],
            list_price: dec!(100),
            cost: dec!(60),
        }
    }

    fn rule(id: i64, applied_on: AppliedOn, compute: Compute) -> Rule {
        Rule {
            id,
            applied_on,
            min_quantity: Decimal::ZERO,
            date_start: None,
            date_end: None,
            compute,
            base: Base::ListPrice,
        }
    }

    fn now() -> Timestamp {
        "2026-06-01T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn without_rules_the_list_price_converted_and_rounded() {
        let mut p = pricing();
        p.pricelists.insert(
            4,
            Pricelist {
                id: 4,
                currency: EUR,
                rules: vec![],
            },
        );
        // 100 USD × 1.2834 = 128.34 EUR (scenario 08 converts list prices the same way).
        assert_eq!(
            p.price(4, &product(), Decimal::ONE, now()).unwrap(),
            (dec!(128.34), EUR)
        );
    }

    #[test]
    fn the_most_specific_rule_wins_then_quantity_then_newest() {
        let mut p = pricing();
        p.pricelists.insert(
            1,
            Pricelist {
                id: 1,
                currency: USD,
                rules: vec![
                    rule(1, AppliedOn::Global, Compute::Percentage(dec!(10))),
                    rule(2, AppliedOn::Category(4), Compute::Percentage(dec!(20))),
                    rule(3, AppliedOn::Category(5), Compute::Percentage(dec!(30))),
                    rule(4, AppliedOn::Template(9), Compute::Fixed(dec!(77))),
                    rule(5, AppliedOn::Variant(99), Compute::Fixed(dec!(1))),
                ],
            },
        );
        let price = |p: &Pricing| p.price(1, &product(), Decimal::ONE, now()).unwrap().0;
        assert_eq!(price(&p), dec!(77), "the template rule beats categories");
        p.pricelists
            .get_mut(&1)
            .unwrap()
            .rules
            .retain(|r| r.id != 4);
        assert_eq!(price(&p), dec!(70), "the deepest category first");
        p.pricelists
            .get_mut(&1)
            .unwrap()
            .rules
            .retain(|r| r.id != 3);
        assert_eq!(price(&p), dec!(80));
        // A rule for 10 units does not price one unit; a newer rule beats an older one.
        let rules = &mut p.pricelists.get_mut(&1).unwrap().rules;
        rules.push(Rule {
            min_quantity: dec!(10),
            ..rule(6, AppliedOn::Category(4), Compute::Fixed(dec!(5)))
        });
        rules.push(rule(7, AppliedOn::Category(4), Compute::Fixed(dec!(66))));
        assert_eq!(price(&p), dec!(66));
    }

    #[test]
    fn dates_limit_rules() {
        let mut p = pricing();
        p.pricelists.insert(
            1,
            Pricelist {
                id: 1,
                currency: USD,
                rules: vec![Rule {
                    date_end: Some("2026-05-31T23:59:59Z".parse().unwrap()),
                    ..rule(1, AppliedOn::Global, Compute::Fixed(dec!(5)))
                }],
            },
        );
        assert_eq!(
            p.price(1, &product(), Decimal::ONE, now()).unwrap().0,
            dec!(100),
            "an expired rule does not apply"
        );
    }

    #[test]
    fn formulas_round_surcharge_and_margins_like_odoo() {
        let mut p = pricing();
        let formula = |discount, round, surcharge, min, max| Compute::Formula {
            discount,
            surcharge,
            round,
            min_margin: min,
            max_margin: max,
        };
        p.pricelists.insert(
            1,
            Pricelist {
                id: 1,
                currency: USD,
                rules: vec![rule(
                    1,
                    AppliedOn::Global,
                    formula(dec!(15), dec!(10), dec!(-0.01), dec!(0), dec!(0)),
                )],
            },
        );
        // 100 − 15 % = 85 → rounded to 10 = 90 → − 0.01 = 89.99 (the classic ".99" formula).
        assert_eq!(
            p.price(1, &product(), Decimal::ONE, now()).unwrap().0,
            dec!(89.99)
        );
        // Cost based, +20 % markup (a negative discount), at least 5 over cost.
        p.pricelists.get_mut(&1).unwrap().rules = vec![Rule {
            base: Base::Cost,
            ..rule(
                2,
                AppliedOn::Global,
                formula(dec!(-20), dec!(0), dec!(0), dec!(15), dec!(0)),
            )
        }];
        assert_eq!(
            p.price(1, &product(), Decimal::ONE, now()).unwrap().0,
            dec!(75)
        );
    }

    #[test]
    fn based_on_another_pricelist_in_another_currency() {
        let mut p = pricing();
        p.pricelists.insert(
            2,
            Pricelist {
                id: 2,
                currency: EUR,
                rules: vec![rule(1, AppliedOn::Global, Compute::Fixed(dec!(50)))],
            },
        );
        p.pricelists.insert(
            3,
            Pricelist {
                id: 3,
                currency: USD,
                rules: vec![Rule {
                    base: Base::Pricelist(2),
                    ..rule(2, AppliedOn::Global, Compute::Percentage(dec!(10)))
                }],
            },
        );
        // 50 EUR = 38.959… USD, less 10 % = 35.06
        assert_eq!(
            p.price(3, &product(), Decimal::ONE, now()).unwrap().0,
            dec!(35.06)
        );
        p.pricelists.get_mut(&2).unwrap().rules[0].base = Base::Pricelist(3);
        p.pricelists.get_mut(&2).unwrap().rules[0].compute = Compute::Percentage(dec!(0));
        assert_eq!(
            p.price(3, &product(), Decimal::ONE, now()),
            Err(PriceError::Loop(3))
        );
    }

    #[test]
    fn rounding_half_up_to_any_step() {
        assert_eq!(round_to(dec!(1.005), dec!(0.01)), dec!(1.01));
        assert_eq!(round_to(dec!(84.9), dec!(10)), dec!(80));
        assert_eq!(round_to(dec!(85), dec!(10)), dec!(90));
        assert_eq!(round_to(dec!(133.6), dec!(1)), dec!(134));
    }
}
