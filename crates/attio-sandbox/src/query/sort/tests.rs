use proptest::prelude::*;
use serde_json::{json, Value};

use super::Sorts;
use crate::query::testing::{person, reference, values, TestSchema, World};
use crate::query::{Subject, Values};

fn people() -> Subject {
    Subject::Object("people".to_owned())
}

fn no_records(_: &str, _: &str) -> Option<Values> {
    None
}

/// (id, values) of people with an age and a company, in creation order.
fn crowd() -> Vec<(String, Values)> {
    let rows = [
        ("p1", "Ada", "Lovelace", Some(36), Some("c2")),
        ("p2", "Alan", "Turing", Some(41), Some("c1")),
        ("p3", "grace", "Hopper", None, Some("c1")),
        ("p4", "Charles", "Babbage", Some(36), None),
        ("p5", "Alan", "Kay", Some(84), Some("c2")),
    ];
    rows.iter()
        .map(|(id, first, last, age, company)| {
            let mut v = person(id, first, last, &format!("{id}@x.test"));
            if let Some(age) = age {
                v.extend(values(&[("age", json!({"value": age}))]));
            }
            if let Some(company) = company {
                v.extend(values(&[("company", reference("companies", company))]));
            }
            ((*id).to_owned(), v)
        })
        .collect()
}

fn world() -> World {
    World(vec![
        (
            "companies",
            "c1".to_owned(),
            values(&[("name", json!({"value": "Bletchley"}))]),
        ),
        (
            "companies",
            "c2".to_owned(),
            values(&[("name", json!({"value": "Analytical"}))]),
        ),
    ])
}

fn order(sorts: Value) -> Vec<String> {
    let parsed =
        Sorts::parse(&TestSchema, &people(), &sorts).unwrap_or_else(|e| panic!("{sorts}: {e:?}"));
    let world = world();
    let resolve = |object: &str, id: &str| world.resolve(object, id);
    parsed
        .order(crowd(), |(_, v)| v, &resolve)
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

#[test]
fn a_field_of_a_name_orders_ignoring_case_and_ties_keep_their_order() {
    assert_eq!(
        order(json!([{"direction": "asc", "attribute": "name", "field": "last_name"}])),
        ["p4", "p3", "p5", "p1", "p2"]
    );
    assert_eq!(
        order(json!([{"direction": "desc", "attribute": "name", "field": "first_name"}])),
        ["p3", "p4", "p2", "p5", "p1"]
    );
    // Without a field, a name sorts by full_name.
    assert_eq!(
        order(json!([{"direction": "asc", "attribute": "name"}])),
        ["p1", "p5", "p2", "p4", "p3"]
    );
}

#[test]
fn missing_values_come_last_in_both_directions() {
    assert_eq!(
        order(json!([{"direction": "asc", "attribute": "age"}])),
        ["p1", "p4", "p2", "p5", "p3"]
    );
    assert_eq!(
        order(json!([{"direction": "desc", "attribute": "age"}])),
        ["p5", "p2", "p1", "p4", "p3"]
    );
}

#[test]
fn later_sorts_break_the_ties_of_earlier_ones() {
    assert_eq!(
        order(json!([
            {"direction": "asc", "attribute": "age"},
            {"direction": "asc", "attribute": "name", "field": "last_name"}
        ])),
        ["p4", "p1", "p2", "p5", "p3"]
    );
    assert_eq!(order(json!([])), ["p1", "p2", "p3", "p4", "p5"]);
}

#[test]
fn paths_sort_by_the_referenced_records_values() {
    let by_company = |direction: &str| {
        order(json!([{"direction": direction,
                      "path": [["people", "company"], ["companies", "name"]]}]))
    };
    assert_eq!(by_company("asc"), ["p1", "p5", "p2", "p3", "p4"]);
    assert_eq!(by_company("desc"), ["p2", "p3", "p1", "p5", "p4"]);
    assert_eq!(
        order(json!([{"direction": "asc", "attribute": "company"}])),
        ["p2", "p3", "p1", "p5", "p4"],
        "a reference sorts by target_record_id"
    );
}

#[test]
fn invalid_sorts_are_refused_with_a_reason() {
    let cases = [
        (json!({"direction": "asc"}), "must be an array"),
        (json!(["name"]), "must be an object"),
        (
            json!([{"direction": "asc", "attribute": "name", "order": 1}]),
            "Unknown sort field \"order\"",
        ),
        (json!([{"attribute": "name"}]), "\"asc\" or \"desc\""),
        (
            json!([{"direction": "up", "attribute": "name"}]),
            "\"asc\" or \"desc\"",
        ),
        (json!([{"direction": "asc"}]), "either an \"attribute\""),
        (
            json!([{"direction": "asc", "attribute": "name", "path": []}]),
            "either an \"attribute\"",
        ),
        (
            json!([{"direction": "asc", "attribute": 3}]),
            "either an \"attribute\"",
        ),
        (
            json!([{"direction": "asc", "attribute": "nickname"}]),
            "Unknown attribute slug/ID \"nickname\"",
        ),
        (
            json!([{"direction": "asc", "attribute": "name", "field": "middle_name"}]),
            "no sortable field",
        ),
        (
            json!([{"direction": "asc", "attribute": "name", "field": 1}]),
            "must be a string",
        ),
        (
            json!([{"direction": "asc", "path": [["companies", "name"]]}]),
            "must name the list or object",
        ),
    ];
    for (sorts, expected) in cases {
        let error = Sorts::parse(&TestSchema, &people(), &sorts)
            .expect_err(&format!("{sorts} must be refused"));
        assert!(
            error.0.contains(expected),
            "{sorts}: {:?} lacks {expected:?}",
            error.0
        );
    }
}

proptest! {
    #[test]
    fn sorting_is_a_stable_permutation(ages in proptest::collection::vec(proptest::option::of(0i64..5), 0..24), desc: bool) {
        let items: Vec<(usize, Values)> = ages
            .iter()
            .enumerate()
            .map(|(i, age)| {
                let v = match age {
                    Some(age) => values(&[("age", json!({"value": age}))]),
                    None => Values::new(),
                };
                (i, v)
            })
            .collect();
        let direction = if desc { "desc" } else { "asc" };
        let sorts = Sorts::parse(&TestSchema, &people(), &json!([{"direction": direction, "attribute": "age"}])).unwrap();
        let sorted: Vec<usize> = sorts.order(items, |(_, v)| v, &no_records).into_iter().map(|(i, _)| i).collect();
        let mut seen = sorted.clone();
        seen.sort_unstable();
        prop_assert_eq!(seen, (0..ages.len()).collect::<Vec<_>>());
        for pair in sorted.windows(2) {
            let (a, b) = (ages[pair[0]], ages[pair[1]]);
            match (a, b) {
                (Some(a), Some(b)) if a == b => prop_assert!(pair[0] < pair[1], "ties keep their order"),
                (Some(a), Some(b)) => {
                    let ordered = if desc { a > b } else { a < b };
                    prop_assert!(ordered, "{} before {}", a, b);
                }
                (Some(_), None) => {}
                (None, Some(_)) => prop_assert!(false, "missing values come last"),
                (None, None) => prop_assert!(pair[0] < pair[1]),
            }
        }
    }
}
