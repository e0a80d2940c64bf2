//! What each attribute type offers filters and sorts: its properties, the operators each property
//! takes (as Attio's attribute-type pages list them), and how a property is read from a rendered
//! value object.

use serde_json::Value;

/// Attio's attribute types, plus `Id` for the `record_id` / `entry_id` the sandbox lets filters
/// name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Number,
    Checkbox,
    Currency,
    Date,
    Timestamp,
    Rating,
    Status,
    Select,
    RecordReference,
    ActorReference,
    Location,
    Domain,
    EmailAddress,
    PhoneNumber,
    PersonalName,
    Id,
}

impl Kind {
    /// The type of an attribute's `type` string; unknown types filter like text.
    pub fn parse(kind: &str) -> Kind {
        match kind {
            "number" => Kind::Number,
            "checkbox" => Kind::Checkbox,
            "currency" => Kind::Currency,
            "date" => Kind::Date,
            "timestamp" => Kind::Timestamp,
            "rating" => Kind::Rating,
            "status" => Kind::Status,
            "select" => Kind::Select,
            "record-reference" => Kind::RecordReference,
            "actor-reference" => Kind::ActorReference,
            "location" => Kind::Location,
            "domain" => Kind::Domain,
            "email-address" => Kind::EmailAddress,
            "phone-number" => Kind::PhoneNumber,
            "personal-name" => Kind::PersonalName,
            _ => Kind::Text,
        }
    }

    /// The property shorthand filters compare (`{"name": "Ada Lovelace"}` is `full_name`).
    /// Locations and actor references have none: a filter names their properties.
    pub fn default_property(self) -> Option<&'static str> {
        match self {
            Kind::PersonalName => Some("full_name"),
            Kind::EmailAddress => Some("email_address"),
            Kind::Domain => Some("domain"),
            Kind::PhoneNumber => Some("phone_number"),
            Kind::Currency => Some("currency_value"),
            Kind::RecordReference => Some("target_record_id"),
            Kind::Location | Kind::ActorReference => None,
            _ => Some("value"),
        }
    }

    /// The property a sort reads when it names no `field`.
    pub fn sort_property(self) -> &'static str {
        match self {
            Kind::Location => "locality",
            Kind::ActorReference => "referenced_actor_id",
            other => other.default_property().unwrap_or("value"),
        }
    }

    /// The property `name` of this type, if it has one.
    pub fn property(self, name: &str) -> Option<Property> {
        use Class::*;
        use Op::*;
        const STRING: &[Op] = &[Eq, Contains, StartsWith, EndsWith];
        const NAME: &[Op] = &[Eq, NotEmpty, Contains, StartsWith, EndsWith];
        const TEXT: &[Op] = &[Eq, In, Contains, StartsWith, EndsWith];
        const ORDERED: &[Op] = &[Eq, Gt, Gte, Lt, Lte];
        let (class, ops): (Class, &'static [Op]) = match (self, name) {
            (Kind::PersonalName, "first_name" | "last_name" | "full_name") => (Exact, NAME),
            (
                Kind::EmailAddress,
                "email_address" | "email_domain" | "email_root_domain" | "email_local_specifier",
            ) => (Folded, STRING),
            (Kind::Domain, "domain" | "root_domain") => (Folded, NAME),
            (Kind::PhoneNumber, "phone_number") => (Folded, STRING),
            (Kind::PhoneNumber, "country_code") => (Folded, &[Eq, NotEmpty]),
            (
                Kind::Location,
                "line_1" | "line_2" | "line_3" | "line_4" | "locality" | "region" | "postcode",
            ) => (Exact, STRING),
            (Kind::Location, "country_code") => (Folded, &[Eq, StartsWith]),
            (Kind::Text, "value") => (Exact, TEXT),
            (Kind::Number | Kind::Rating, "value") => (Number, ORDERED),
            (Kind::Currency, "currency_value" | "value") => (Number, ORDERED),
            (Kind::Date, "value") => (Date, ORDERED),
            (Kind::Timestamp, "value") => (Timestamp, ORDERED),
            (Kind::Checkbox, "value") => (Bool, &[Eq]),
            (Kind::Select, "option" | "value") | (Kind::Status, "status" | "value") => {
                (Exact, &[Eq])
            }
            // When the option or status was set, as the select and status pages document.
            (Kind::Select | Kind::Status, "active_from") => (Moment, &[Gt, Gte, Lt, Lte]),
            (Kind::RecordReference, "target_object") => (Folded, &[Eq]),
            (Kind::RecordReference, "target_record_id") => (Folded, &[Eq, In]),
            (Kind::ActorReference, "referenced_actor_type" | "referenced_actor_id") => {
                (Folded, &[Eq])
            }
            (Kind::Id, "value") => (Folded, &[Eq, In]),
            _ => return None,
        };
        let name = match name {
            // `value` names the one property of single-property types and of select and status.
            "option" | "status" => "value",
            other => other,
        };
        Some(Property {
            name: name.to_owned(),
            kind: self,
            class,
            ops,
        })
    }
}

/// How a property's values compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// Strings compared as they are (`$contains` and friends ignore case).
    Exact,
    /// Strings compared ignoring case (emails, domains, ids).
    Folded,
    Number,
    Date,
    Timestamp,
    /// A timestamp that a filter may also give as a bare date (midnight UTC).
    Moment,
    Bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    In,
    Contains,
    StartsWith,
    EndsWith,
    Lt,
    Lte,
    Gt,
    Gte,
    NotEmpty,
}

impl Op {
    pub fn parse(name: &str) -> Option<Op> {
        Some(match name {
            "$eq" => Op::Eq,
            "$in" => Op::In,
            "$contains" => Op::Contains,
            "$starts_with" => Op::StartsWith,
            "$ends_with" => Op::EndsWith,
            "$lt" => Op::Lt,
            "$lte" => Op::Lte,
            "$gt" => Op::Gt,
            "$gte" => Op::Gte,
            "$not_empty" => Op::NotEmpty,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Op::Eq => "$eq",
            Op::In => "$in",
            Op::Contains => "$contains",
            Op::StartsWith => "$starts_with",
            Op::EndsWith => "$ends_with",
            Op::Lt => "$lt",
            Op::Lte => "$lte",
            Op::Gt => "$gt",
            Op::Gte => "$gte",
            Op::NotEmpty => "$not_empty",
        }
    }
}

/// A property of one attribute type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Property {
    pub name: String,
    pub kind: Kind,
    pub class: Class,
    pub ops: &'static [Op],
}

impl Property {
    /// What the property holds in one value object: usually one value; select and status
    /// options match by title or by id. Attio's own fields win; the sandbox's simpler
    /// renderings (`{"value": …}`, an email without its parts) are read as a fallback.
    pub fn read(&self, value: &Value) -> Vec<Value> {
        let field = |key: &str| value.get(key).filter(|v| !v.is_null()).cloned();
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        let found = match (self.kind, self.name.as_str()) {
            (Kind::Select | Kind::Status, "active_from") => field("active_from"),
            (Kind::Select, _) => return titled(value, "option", "option_id"),
            (Kind::Status, _) => return titled(value, "status", "status_id"),
            (Kind::EmailAddress, "email_address") => field("email_address")
                .or_else(|| field("original_email_address"))
                .or_else(|| field("value")),
            (Kind::EmailAddress, part) => field(part).or_else(|| {
                let email = text("email_address").or_else(|| text("value"))?;
                let (local, domain) = email.rsplit_once('@')?;
                Some(Value::from(match part {
                    "email_domain" => domain.to_owned(),
                    "email_root_domain" => root_domain(domain),
                    _ => local.to_owned(),
                }))
            }),
            (Kind::Domain, "domain") => field("domain").or_else(|| field("value")),
            (Kind::Domain, _) => field("root_domain").or_else(|| {
                let domain = text("domain").or_else(|| text("value"))?;
                Some(Value::from(root_domain(&domain)))
            }),
            (Kind::PhoneNumber, "phone_number") => field("phone_number")
                .or_else(|| field("normalized_phone_number"))
                .or_else(|| field("original_phone_number"))
                .or_else(|| field("value")),
            (Kind::Currency, _) => field("currency_value").or_else(|| field("value")),
            (_, name) => field(name),
        };
        found.into_iter().collect()
    }
}

/// A select option's or a status's title and id (`{"option": {"title", "id": {"option_id"}}}`),
/// or the sandbox's `{"value": title}`.
fn titled(value: &Value, key: &str, id_key: &str) -> Vec<Value> {
    let Some(inner) = value.get(key) else {
        return value.get("value").cloned().into_iter().collect();
    };
    [
        inner.get("title"),
        inner.get("id").and_then(|id| id.get(id_key)),
    ]
    .into_iter()
    .flatten()
    .filter(|v| v.is_string())
    .cloned()
    .collect()
}

/// The part of a domain above its public suffix, approximated as its last two labels.
fn root_domain(domain: &str) -> String {
    let labels: Vec<&str> = domain.split('.').collect();
    match labels.len() {
        0..=2 => domain.to_owned(),
        n => labels[n - 2..].join("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn properties_read_attio_renderings_and_the_sandbox_fallbacks() {
        let email = Kind::EmailAddress;
        let cases = [
            (
                email,
                "email_domain",
                json!({"email_address": "ada@mail.example.com"}),
                vec![json!("mail.example.com")],
            ),
            (
                email,
                "email_root_domain",
                json!({"email_address": "ada@mail.example.com"}),
                vec![json!("example.com")],
            ),
            (
                email,
                "email_local_specifier",
                json!({"email_address": "ada@example.com"}),
                vec![json!("ada")],
            ),
            (
                email,
                "email_domain",
                json!({"email_address": "x@a.b", "email_domain": "given.test"}),
                vec![json!("given.test")],
            ),
            (
                Kind::Domain,
                "root_domain",
                json!({"domain": "app.attio.com"}),
                vec![json!("attio.com")],
            ),
            (
                Kind::Domain,
                "root_domain",
                json!({"domain": "app.attio.com", "root_domain": "attio.com"}),
                vec![json!("attio.com")],
            ),
            (
                Kind::PhoneNumber,
                "phone_number",
                json!({"original_phone_number": "+44 7700", "normalized_phone_number": "+447700"}),
                vec![json!("+447700")],
            ),
            (
                Kind::PhoneNumber,
                "phone_number",
                json!({"value": "+15558675309"}),
                vec![json!("+15558675309")],
            ),
            (
                Kind::Select,
                "value",
                json!({"option": {"title": "Lead", "id": {"option_id": "o1"}}}),
                vec![json!("Lead"), json!("o1")],
            ),
            (
                Kind::Status,
                "value",
                json!({"value": "Won"}),
                vec![json!("Won")],
            ),
            (
                Kind::Currency,
                "currency_value",
                json!({"currency_value": "499.00"}),
                vec![json!("499.00")],
            ),
            (
                Kind::Location,
                "locality",
                json!({"locality": null}),
                vec![],
            ),
        ];
        for (kind, name, value, expected) in cases {
            let property = kind.property(name).expect(name);
            assert_eq!(
                property.read(&value),
                expected,
                "{kind:?}.{name} of {value}"
            );
        }
    }

    #[test]
    fn each_type_offers_the_documented_properties_and_operators() {
        assert!(
            Kind::Location.property("latitude").is_none(),
            "not filterable"
        );
        assert!(Kind::PersonalName.property("middle_name").is_none());
        assert_eq!(Kind::Checkbox.property("value").unwrap().ops, &[Op::Eq]);
        assert!(Kind::Text.property("value").unwrap().ops.contains(&Op::In));
        assert!(!Kind::Number
            .property("value")
            .unwrap()
            .ops
            .contains(&Op::Contains));
        assert_eq!(Kind::Select.property("option").unwrap().name, "value");
        assert_eq!(Kind::parse("something-new"), Kind::Text);
        for op in [
            "$eq",
            "$in",
            "$contains",
            "$starts_with",
            "$ends_with",
            "$lt",
            "$lte",
            "$gt",
            "$gte",
            "$not_empty",
        ] {
            assert_eq!(Op::parse(op).map(Op::name), Some(op));
        }
        assert_eq!(Op::parse("$neq"), None);
    }
}
