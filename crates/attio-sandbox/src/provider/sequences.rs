//! The mail sequencer's data: three seeded sequences and the people enrolled in them. Enrolling
//! is idempotent per sequence and email (compared without regard to case).

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub(super) struct Enrollment {
    pub email: String,
    pub enrolled_at: String,
    /// `sub` of the token's owner, or `api_key`: lets tests see which connection was used.
    pub enrolled_by: String,
}

pub(super) struct Sequence {
    pub id: &'static str,
    pub name: &'static str,
    pub enrollments: Vec<Enrollment>,
}

/// Whether `enroll` added someone or found them already there.
pub(super) enum Enrolled<'a> {
    New(&'a Enrollment),
    Existing(&'a Enrollment),
}

pub(super) struct Sequences {
    sequences: Vec<Sequence>,
}

impl Sequences {
    /// The same three sequences, in the same order, on every start.
    pub fn seeded() -> Self {
        let seed = [
            ("seq_onboarding", "Onboarding"),
            ("seq_renewal", "Renewal reminders"),
            ("seq_nurture", "Lead nurture"),
        ];
        Sequences {
            sequences: seed
                .into_iter()
                .map(|(id, name)| Sequence {
                    id,
                    name,
                    enrollments: Vec::new(),
                })
                .collect(),
        }
    }

    pub fn all(&self) -> &[Sequence] {
        &self.sequences
    }

    pub fn get(&self, id: &str) -> Option<&Sequence> {
        self.sequences.iter().find(|s| s.id == id)
    }

    /// Enrolls a (validated) email; `None` when the sequence does not exist.
    pub fn enroll(&mut self, id: &str, email: &str, by: &str) -> Option<Enrolled<'_>> {
        let sequence = self.sequences.iter_mut().find(|s| s.id == id)?;
        if let Some(index) = sequence
            .enrollments
            .iter()
            .position(|e| e.email.eq_ignore_ascii_case(email))
        {
            return sequence.enrollments.get(index).map(Enrolled::Existing);
        }
        sequence.enrollments.push(Enrollment {
            email: email.to_owned(),
            enrolled_at: now_rfc3339(),
            enrolled_by: by.to_owned(),
        });
        sequence.enrollments.last().map(Enrolled::New)
    }
}

fn now_rfc3339() -> String {
    // Formatting the current time as RFC 3339 only fails for years beyond 9999.
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// A deliberately small check: one `@`, a non-empty local part, a dotted domain, no spaces or
/// control characters, at most 254 characters (RFC 5321's path limit).
pub(super) fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let labels_ok = domain.split('.').count() >= 2
        && domain
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    email.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && labels_ok
        && !local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
}

#[cfg(test)]
mod tests {
    use super::is_valid_email;

    #[test]
    fn emails_are_checked_for_their_basic_shape() {
        for ok in ["ada@example.com", "a.b+tag@mail.example.org", "x@y.io"] {
            assert!(is_valid_email(ok), "{ok} should be valid");
        }
        for bad in [
            "",
            "plain",
            "@example.com",
            "ada@",
            "ada@localhost",
            "ada@@example.com",
            "a da@example.com",
            "ada@exa mple.com",
            "ada@example..com",
            "<script>@example.com",
        ] {
            assert!(!is_valid_email(bad), "{bad:?} should be invalid");
        }
    }
}
