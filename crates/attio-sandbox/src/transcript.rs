//! The transcript of a finished call recording. The sandbox records no audio, so it writes one: a
//! short conversation about the meeting, spoken in turn by the meeting's people and cut into
//! word-long segments timed like Attio's (seconds from the start of the recording). The same
//! meeting and speakers always give the same transcript.

/// One word (with its punctuation) of the transcript; times in hundredths of a second.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    pub speech: String,
    pub start_centis: u32,
    pub end_centis: u32,
    pub speaker: String,
}

impl Segment {
    pub fn start_time(&self) -> f64 {
        f64::from(self.start_centis) / 100.0
    }

    pub fn end_time(&self) -> f64 {
        f64::from(self.end_centis) / 100.0
    }
}

/// What is said after the opening line, which names the meeting.
const SCRIPT: &[&str] = &[
    "Thanks for making the time. Shall we start with where things stand?",
    "Sure. The pilot went well and the team would like to roll it out further.",
    "Good to hear. What would you need from us to make that happen?",
    "Mostly a clear timeline, and someone on your side to own the rollout.",
    "That works. I can send a proposal with dates by the end of the week.",
    "Great. Could it include pricing for the larger team as well?",
    "Of course. I will put two options in it.",
    "Perfect. I think that covers everything for today.",
    "Agreed. Thanks, everyone. Talk soon.",
];

/// Silence before the first word and between two speakers.
const LEAD_IN_CENTIS: u32 = 51;
const PAUSE_CENTIS: u32 = 60;

/// The lines of the conversation: `(speaker, text)`. With no speakers, one unnamed speaker.
fn lines(title: &str, speakers: &[String]) -> Vec<(String, String)> {
    let fallback = ["Speaker 1".to_owned()];
    let speakers = if speakers.is_empty() {
        &fallback[..]
    } else {
        speakers
    };
    let title = title.trim();
    let opening = if title.is_empty() {
        "Hello, everyone, and welcome.".to_owned()
    } else {
        format!("Hello, everyone, and welcome to {title}.")
    };
    std::iter::once(opening)
        .chain(SCRIPT.iter().map(|line| (*line).to_owned()))
        .enumerate()
        .map(|(i, text)| (speakers[i % speakers.len()].clone(), text))
        .collect()
}

/// How long a word takes to say: longer words take longer.
fn duration_centis(word: &str) -> u32 {
    let letters = u32::try_from(word.chars().count()).unwrap_or(u32::MAX);
    20 + 5 * letters.min(16)
}

/// The whole transcript, word by word.
pub(crate) fn segments(title: &str, speakers: &[String]) -> Vec<Segment> {
    let mut at = LEAD_IN_CENTIS;
    let mut out = Vec::new();
    for (i, (speaker, text)) in lines(title, speakers).into_iter().enumerate() {
        if i > 0 {
            at += PAUSE_CENTIS;
        }
        for word in text.split_whitespace() {
            let end = at + duration_centis(word);
            out.push(Segment {
                speech: word.to_owned(),
                start_centis: at,
                end_centis: end,
                speaker: speaker.clone(),
            });
            at = end;
        }
    }
    out
}

/// The transcript as text: one line per turn, `[mm:ss] Speaker: words`.
pub(crate) fn raw(segments: &[Segment]) -> String {
    let mut turns: Vec<(u32, &str, Vec<&str>)> = Vec::new();
    for segment in segments {
        match turns.last_mut() {
            Some((_, speaker, words)) if *speaker == segment.speaker => {
                words.push(&segment.speech);
            }
            _ => turns.push((
                segment.start_centis,
                &segment.speaker,
                vec![&segment.speech],
            )),
        }
    }
    turns
        .iter()
        .map(|(start, speaker, words)| {
            let seconds = start / 100;
            format!(
                "[{:02}:{:02}] {speaker}: {}",
                seconds / 60,
                seconds % 60,
                words.join(" ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speakers_take_turns_and_words_follow_each_other_in_time() {
        let speakers = ["Ada Lovelace".to_owned(), "Alan Turing".to_owned()];
        let all = segments("Quarterly review", &speakers);
        assert_eq!(
            all,
            segments("Quarterly review", &speakers),
            "deterministic"
        );
        assert_eq!(all[0].speech, "Hello,");
        assert_eq!(all[0].start_time(), 0.51);
        assert_eq!(all[0].speaker, "Ada Lovelace");
        for pair in all.windows(2) {
            assert!(pair[0].end_centis <= pair[1].start_centis, "{pair:?}");
            assert!(pair[0].start_centis < pair[0].end_centis);
        }
        assert!(all.iter().any(|s| s.speaker == "Alan Turing"));
        let text = raw(&all);
        let first = text.lines().next().unwrap();
        assert_eq!(
            first,
            "[00:00] Ada Lovelace: Hello, everyone, and welcome to Quarterly review."
        );
        assert_eq!(text.lines().count(), SCRIPT.len() + 1);
        assert!(text.lines().nth(1).unwrap().starts_with("[00:0"));
    }

    #[test]
    fn a_meeting_without_people_has_one_unnamed_speaker() {
        let all = segments("", &[]);
        assert!(all.iter().all(|s| s.speaker == "Speaker 1"));
        assert!(raw(&all).starts_with("[00:00] Speaker 1: Hello, everyone, and welcome."));
    }
}
