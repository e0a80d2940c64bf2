//! "Globex", the second, smaller demo workspace: four members, six people, three companies and a
//! dozen tasks, with ids of its own (every label prefixed with `globex:`).

use time::macros::datetime;

use super::{build, members, DataSet, Seed};
use crate::ids::SeedIds;
use crate::store::{AccessLevel, Workspace};

pub(crate) const WORKSPACE_NAME: &str = "Globex";
const WORKSPACE_SLUG: &str = "globex";

/// Exactly one admin and one suspended member, as in Acme Demo.
const MEMBERS: &[(&str, &str, AccessLevel)] = &[
    ("Hank", "Scorpio", AccessLevel::Admin),
    ("Lena", "Fischer", AccessLevel::Member),
    ("Omar", "Aziz", AccessLevel::Member),
    ("Rosa", "Delgado", AccessLevel::Suspended),
];

pub(crate) const DATA: DataSet = DataSet {
    people: &[
        ("Wendy Park", "wendy.park@cypress.test"),
        ("Victor Hale", "victor.hale@cypress.test"),
        ("Ines Moreno", "ines.moreno@lumen.test"),
        ("Kofi Boateng", "kofi.boateng@lumen.test"),
        ("Mira Novak", "mira.novak@stratos.test"),
        ("Paul Dubois", "paul.dubois@stratos.test"),
    ],
    companies: &[
        ("Cypress Logistics", "cypress.test"),
        ("Lumen Health", "lumen.test"),
        ("Stratos Aerospace", "stratos.test"),
    ],
    tasks: 12,
};

pub(crate) fn seed() -> Seed {
    let ids = SeedIds::scoped("globex");
    let workspace = Workspace {
        id: ids.id("workspace:globex"),
        name: WORKSPACE_NAME.to_owned(),
        slug: WORKSPACE_SLUG.to_owned(),
    };
    let joined = datetime!(2025-03-03 08:00:00.250000 UTC);
    let members = members(&ids, MEMBERS, "globex-corp.test", joined);
    build(&ids, workspace, members, Some(&DATA))
}
