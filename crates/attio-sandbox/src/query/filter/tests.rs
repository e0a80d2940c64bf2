use proptest::prelude::*;
use serde_json::{json, Value};

use super::Filter;
use crate::query::testing::{person, reference, values, TestSchema, World};
use crate::query::{Subject, Values};

fn people() -> Subject {
    Subject::Object("people".to_owned())
}

fn parse(filter: Value) -> Filter {
    Filter::parse(&TestSchema, &people(), &filter).unwrap_or_else(|e| panic!("{filter}: {e:?}"))
}

fn no_records(_: &str, _: &str) -> Option<Values> {
    None
}

/// Ada: a person with every kind of value; Alan: a plain person.
fn ada() -> Values {
    let mut ada = person("p1", "Ada", "Lovelace", "ada@analytical.example.com");
    ada.extend(values(&[
        ("job_title", json!({"value": "Head of Things", "attribute_type": "text"})),
        ("age", json!({"value": 36, "attribute_type": "number"})),
        ("born", json!({"value": "1815-12-10", "attribute_type": "date"})),
        ("seen_at", json!({"value": "2023-11-24T08:30:00.000000000Z", "attribute_type": "timestamp"})),
        ("vip", json!({"value": true, "attribute_type": "checkbox"})),
        ("phone_numbers", json!({"original_phone_number": "+447700900798", "normalized_phone_number": "+447700900798", "country_code": "GB", "attribute_type": "phone-number"})),
        ("primary_location", json!({"line_1": null, "locality": "New York City", "region": "NY", "country_code": "US", "attribute_type": "location"})),
        ("company", reference("companies", "c1")),
        ("owner", json!({"referenced_actor_type": "workspace-member", "referenced_actor_id": "m1", "attribute_type": "actor-reference"})),
        ("stage", json!({"status": {"title": "In Progress", "id": {"status_id": "s1"}}, "active_from": "2023-11-21T10:00:00.000000000Z", "attribute_type": "status"})),
    ]));
    ada
}

fn alan() -> Values {
    person("p2", "Alan", "Turing", "alan@bletchley.test")
}

#[track_caller]
fn check(filter: Value, ada_matches: bool, alan_matches: bool) {
    let parsed = parse(filter.clone());
    assert_eq!(
        parsed.matches(&ada(), &no_records),
        ada_matches,
        "Ada, {filter}"
    );
    assert_eq!(
        parsed.matches(&alan(), &no_records),
        alan_matches,
        "Alan, {filter}"
    );
}

#[test]
fn shorthand_compares_each_types_main_property() {
    check(json!({"name": "Ada Lovelace"}), true, false);
    check(json!({"name": "ada lovelace"}), false, false);
    check(
        json!({"email_addresses": "ADA@analytical.example.com"}),
        true,
        false,
    );
    check(json!({"phone_numbers": "+447700900798"}), true, false);
    check(json!({"age": 36}), true, false);
    check(json!({"age": "36"}), true, false);
    check(json!({"vip": true}), true, false);
    check(json!({"born": "1815-12-10"}), true, false);
    check(json!({"stage": "In Progress"}), true, false);
    check(json!({"stage": "s1"}), true, false);
    check(json!({"company": "c1"}), true, false);
    check(json!({"record_id": "P2"}), false, true);
    // Several keys: all must hold.
    check(
        json!({"name": "Ada Lovelace", "email_addresses": "alan@bletchley.test"}),
        false,
        false,
    );
    check(json!({}), true, true);
}

#[test]
fn verbose_operators_read_sub_properties() {
    check(json!({"name": {"first_name": {"$eq": "Ada"}}}), true, false);
    check(json!({"name": {"first_name": "Alan"}}), false, true);
    check(
        json!({"name": {"last_name": {"$starts_with": "lov"}}}),
        true,
        false,
    );
    check(json!({"name": {"$contains": "TUR"}}), false, true);
    check(
        json!({"name": {"full_name": {"$ends_with": "ace"}}}),
        true,
        false,
    );
    check(
        json!({"email_addresses": {"email_domain": "bletchley.test"}}),
        false,
        true,
    );
    check(
        json!({"email_addresses": {"email_root_domain": {"$eq": "analytical.example.com"}}}),
        true,
        false,
    );
    check(
        json!({"email_addresses": {"email_local_specifier": {"$contains": "la"}}}),
        false,
        true,
    );
    check(
        json!({"phone_numbers": {"$starts_with": "+44", "$ends_with": "798"}}),
        true,
        false,
    );
    check(
        json!({"phone_numbers": {"$starts_with": "+44", "$ends_with": "799"}}),
        false,
        false,
    );
    check(
        json!({"phone_numbers": {"country_code": {"$not_empty": true}}}),
        true,
        false,
    );
    check(
        json!({"primary_location": {"locality": {"$contains": "new york"}}}),
        true,
        false,
    );
    check(
        json!({"primary_location": {"locality": "New York City", "region": "NY", "country_code": "us"}}),
        true,
        false,
    );
    check(
        json!({"primary_location": {"region": {"$starts_with": "n"}}}),
        true,
        false,
    );
    check(
        json!({"job_title": {"$ends_with": "of things"}}),
        true,
        false,
    );
    check(
        json!({"job_title": {"$in": ["Engineer", "Head of Things"]}}),
        true,
        false,
    );
    check(json!({"record_id": {"$in": ["p2", "p9"]}}), false, true);
    check(
        json!({"company": {"target_object": "companies", "target_record_id": "c1"}}),
        true,
        false,
    );
    check(
        json!({"company": {"target_object": "people", "target_record_id": "c1"}}),
        false,
        false,
    );
    check(
        json!({"company": {"target_record_id": {"$in": ["c9", "c1"]}}}),
        true,
        false,
    );
    check(
        json!({"owner": {"referenced_actor_type": "workspace-member", "referenced_actor_id": "m1"}}),
        true,
        false,
    );
}

#[test]
fn comparisons_order_numbers_dates_and_timestamps() {
    check(json!({"age": {"$gte": 36}}), true, false);
    check(json!({"age": {"$gt": 36}}), false, false);
    check(json!({"age": {"$gte": 30, "$lt": 40}}), true, false);
    check(json!({"age": {"$lte": "35.5"}}), false, false);
    check(
        json!({"born": {"$gte": "1815-01-01", "$lte": "1815-12-31"}}),
        true,
        false,
    );
    check(json!({"born": {"$lt": "1815-12-10"}}), false, false);
    check(
        json!({"seen_at": {"$gte": "2023-11-24T08:00:00Z", "$lt": "2023-11-24T09:00:00Z"}}),
        true,
        false,
    );
    check(
        json!({"seen_at": {"$gt": "2023-11-24T10:00:00+02:00"}}),
        true,
        false,
    );
    check(json!({"seen_at": "2023-11-24T08:30:00Z"}), true, false);
}

#[test]
fn select_and_status_filter_on_when_they_were_set() {
    check(
        json!({"stage": {"active_from": {"$gte": "2023-11-20"}}}),
        true,
        false,
    );
    check(
        json!({"stage": {"active_from": {"$lt": "2023-11-21T09:00:00Z"}}}),
        false,
        false,
    );
    check(
        json!({"stage": {"active_from": {"$gt": "2023-11-21T09:00:00+02:00"}}}),
        true,
        false,
    );
}

#[test]
fn not_empty_on_the_attribute_asks_for_any_value() {
    check(json!({"job_title": {"$not_empty": true}}), true, false);
    check(json!({"job_title": {"$not_empty": false}}), false, true);
    check(json!({"email_addresses": {"$not_empty": true}}), true, true);
}

#[test]
fn logical_operators_nest() {
    check(
        json!({"$or": [{"name": "Ada Lovelace"}, {"name": "Alan Turing"}]}),
        true,
        true,
    );
    check(
        json!({"$and": [{"name": {"$contains": "a"}}, {"$not": {"vip": true}}]}),
        false,
        true,
    );
    check(
        json!({"$not": {"name": {"first_name": "Ada"}}}),
        false,
        true,
    );
    check(
        json!({"$and": [
            {"$or": [{"record_id": "p1"}, {"record_id": "p2"}]},
            {"$not": {"$or": [{"age": {"$lt": 30}}, {"email_addresses": {"email_domain": "bletchley.test"}}]}}
        ]}),
        true,
        false,
    );
    check(json!({"$and": []}), true, true);
    check(json!({"$or": []}), false, false);
    check(json!({"$not": {}}), false, false);
}

#[test]
fn paths_follow_references_to_other_records() {
    let world = World(vec![
        (
            "companies",
            "c1".to_owned(),
            values(&[
                ("record_id", json!({"value": "c1"})),
                (
                    "name",
                    json!({"value": "Analytical Engines", "attribute_type": "text"}),
                ),
                (
                    "domains",
                    json!({"domain": "app.analytical.test", "root_domain": "analytical.test"}),
                ),
                (
                    "team",
                    json!([reference("people", "p1"), reference("people", "p2")]),
                ),
            ]),
        ),
        ("people", "p1".to_owned(), ada()),
        ("people", "p2".to_owned(), alan()),
    ]);
    let resolve = |object: &str, id: &str| world.resolve(object, id);
    let matches = |filter: Value, who: &Values| parse(filter).matches(who, &resolve);

    let by_company_name = json!({"path": [["people", "company"], ["companies", "name"]],
                                 "constraints": {"$starts_with": "analytical"}});
    assert!(matches(by_company_name.clone(), &ada()));
    assert!(!matches(by_company_name, &alan()), "Alan has no company");
    let by_domain = json!({"path": [["people", "company"], ["companies", "domains"]],
                           "constraints": {"root_domain": "analytical.test"}});
    assert!(matches(by_domain, &ada()));
    // Colleagues: people whose company's team includes Alan.
    let colleagues = json!({"path": [["people", "company"], ["companies", "team"]],
                            "constraints": {"target_object": "people", "target_record_id": "p2"}});
    assert!(matches(colleagues.clone(), &ada()));
    // Three hops, back to people: someone on Ada's company's team is called Turing.
    let three = json!({"path": [["people", "company"], ["companies", "team"], ["people", "name"]],
                       "constraints": {"last_name": "Turing"}});
    assert!(matches(three, &ada()));
    // A reference to another object than the path names leads nowhere.
    let wrong_object = json!({"path": [["people", "manager"], ["people", "name"]],
                              "constraints": {"$not_empty": true}});
    let mut managed = alan();
    managed.extend(values(&[("manager", reference("companies", "c1"))]));
    assert!(!matches(wrong_object, &managed));
    // Path filters combine with the rest.
    assert!(matches(json!({"$not": colleagues}), &alan()));
}

#[test]
fn list_entries_reach_their_parent_record() {
    let world = World(vec![("people", "p1".to_owned(), ada())]);
    let resolve = |object: &str, id: &str| world.resolve(object, id);
    let entry = values(&[
        ("entry_id", json!({"value": "e1"})),
        ("parent_record", reference("people", "p1")),
        ("stage", json!({"value": "Won", "attribute_type": "text"})),
    ]);
    let list = Subject::List("list-1".to_owned());
    let parse = |filter: Value| Filter::parse(&TestSchema, &list, &filter).unwrap();
    assert!(parse(json!({"stage": "Won"})).matches(&entry, &resolve));
    assert!(parse(
        json!({"path": [["deals", "parent_record"], ["people", "email_addresses"]],
                         "constraints": {"email_domain": "analytical.example.com"}})
    )
    .matches(&entry, &resolve));
    assert!(parse(json!({"parent_record": {"target_record_id": "p1"}})).matches(&entry, &resolve));
    assert!(!parse(
        json!({"path": [["list-1", "parent_record"], ["people", "name"]],
                          "constraints": {"first_name": "Alan"}})
    )
    .matches(&entry, &resolve));
}

#[test]
fn attributes_may_be_named_by_id() {
    check(json!({"id:name": "Alan Turing"}), false, true);
}

#[test]
fn invalid_filters_are_refused_with_a_reason() {
    let cases = [
        (json!("Ada"), "must be an object"),
        (
            json!({"nickname": "Ada"}),
            "Unknown attribute slug/ID \"nickname\"",
        ),
        (
            json!({"name": {"$neq": "Ada"}}),
            "Unknown operator \"$neq\"",
        ),
        (
            json!({"name": {"middle_name": "X"}}),
            "no filterable property \"middle_name\"",
        ),
        (
            json!({"name": {"first_name": {"$gt": "A"}}}),
            "cannot be used",
        ),
        (
            json!({"name": {"first_name": {"first": "A"}}}),
            "Unknown operator \"first\"",
        ),
        (json!({"age": {"$contains": "3"}}), "cannot be used"),
        (json!({"age": "many"}), "takes a number"),
        (json!({"vip": {"$in": [true]}}), "cannot be used"),
        (json!({"vip": "yes"}), "takes true or false"),
        (json!({"born": "last year"}), "takes a date"),
        (json!({"seen_at": "2023-11-24"}), "date and time"),
        (json!({"job_title": {"$in": "Engineer"}}), "takes an array"),
        (
            json!({"job_title": {"$in": ["Engineer", 3]}}),
            "takes a string",
        ),
        (json!({"job_title": {"$contains": 3}}), "takes a string"),
        (
            json!({"job_title": {"$not_empty": "yes"}}),
            "takes true or false",
        ),
        (json!({"job_title": {}}), "is empty"),
        (json!({"job_title": null}), "takes a string"),
        (
            json!({"primary_location": "New York"}),
            "by one of its properties",
        ),
        (
            json!({"primary_location": {"latitude": "1"}}),
            "no filterable property",
        ),
        (
            json!({"primary_location": {"line_1": {"$not_empty": true}}}),
            "cannot be used",
        ),
        (json!({"$and": {"name": "Ada"}}), "takes an array"),
        (json!({"$or": ["Ada"]}), "array of filter objects"),
        (json!({"$not": []}), "takes a filter object"),
        (json!({"$nor": []}), "Unknown logical operator"),
        (
            json!({"path": [["people", "company"], ["companies", "name"]]}),
            "needs \"constraints\"",
        ),
        (json!({"path": [], "constraints": {}}), "non-empty array"),
        (
            json!({"path": "people.company", "constraints": {}}),
            "non-empty array",
        ),
        (json!({"path": [["people"]], "constraints": {}}), "pair"),
        (
            json!({"path": [["companies", "name"]], "constraints": "x"}),
            "must name the list or object being queried",
        ),
        (
            json!({"path": [["people", "name"], ["companies", "name"]], "constraints": "x"}),
            "only pass through record reference",
        ),
        (
            json!({"path": [["people", "company"], ["deals", "stage"]], "constraints": "x"}),
            "Unknown object \"deals\"",
        ),
        (
            json!({"path": [["people", "company"], ["companies", "nickname"]], "constraints": "x"}),
            "Unknown attribute slug/ID \"nickname\"",
        ),
        (
            json!({"path": [["people", "company"], ["companies", "name"]], "constraints": {"$gt": 1}}),
            "cannot be used",
        ),
        (
            json!({"path": [["people", "company"], ["companies", "name"]], "constraints": {}, "x": 1}),
            "only \"path\" and \"constraints\"",
        ),
    ];
    for (filter, expected) in cases {
        let error = Filter::parse(&TestSchema, &people(), &filter)
            .expect_err(&format!("{filter} must be refused"));
        assert!(
            error.0.contains(expected),
            "{filter}: {:?} lacks {expected:?}",
            error.0
        );
    }
}

/// Arbitrary filters over the test schema, valid or not.
fn filter_json() -> impl Strategy<Value = Value> {
    let attribute = prop_oneof![
        Just("name"),
        Just("email_addresses"),
        Just("job_title"),
        Just("age"),
        Just("vip"),
        Just("born"),
        Just("record_id"),
        Just("company"),
        Just("primary_location"),
        Just("nope"),
    ];
    let key = prop_oneof![
        Just("$eq"),
        Just("$in"),
        Just("$contains"),
        Just("$starts_with"),
        Just("$ends_with"),
        Just("$lt"),
        Just("$gte"),
        Just("$not_empty"),
        Just("first_name"),
        Just("email_domain"),
        Just("locality"),
        Just("target_record_id"),
    ];
    let scalar = prop_oneof![
        Just(json!("Ada")),
        Just(json!("Ada Lovelace")),
        Just(json!(36)),
        Just(json!(true)),
        Just(json!("1815-12-10")),
        Just(json!("p1")),
        Just(json!(["p1", "p2"])),
        Just(json!(null)),
        "[a-z]{0,3}".prop_map(Value::from),
    ];
    let inner = proptest::collection::btree_map(key, scalar.clone(), 0..3)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()));
    let condition = (attribute, prop_oneof![scalar, inner]).prop_map(|(attribute, spec)| {
        let mut map = serde_json::Map::new();
        map.insert(attribute.to_owned(), spec);
        Value::Object(map)
    });
    condition.prop_recursive(3, 24, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(|v| json!({"$and": v})),
            proptest::collection::vec(inner.clone(), 0..3).prop_map(|v| json!({"$or": v})),
            inner.prop_map(|f| json!({"$not": f})),
        ]
    })
}

proptest! {
    #[test]
    fn parsing_never_panics_and_not_is_the_complement(filter in filter_json()) {
        if let Ok(parsed) = Filter::parse(&TestSchema, &people(), &filter) {
            let negated = parse(json!({"$not": filter.clone()}));
            let doubled = parse(json!({"$and": [filter.clone(), filter.clone()]}));
            for who in [ada(), alan()] {
                let m = parsed.matches(&who, &no_records);
                prop_assert_eq!(negated.matches(&who, &no_records), !m);
                prop_assert_eq!(doubled.matches(&who, &no_records), m);
            }
        }
    }

    #[test]
    fn or_holds_when_either_side_holds(a in filter_json(), b in filter_json()) {
        let (Ok(pa), Ok(pb)) = (
            Filter::parse(&TestSchema, &people(), &a),
            Filter::parse(&TestSchema, &people(), &b),
        ) else {
            return Ok(());
        };
        let either = parse(json!({"$or": [a, b]}));
        for who in [ada(), alan()] {
            prop_assert_eq!(
                either.matches(&who, &no_records),
                pa.matches(&who, &no_records) || pb.matches(&who, &no_records)
            );
        }
    }
}
