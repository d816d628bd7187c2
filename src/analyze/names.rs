//! Names: finds the name the customer goes by in a call ("my name is James Cooper", "am I
//! speaking with Mrs Patel"), so rules can count how often the agent uses it
//! (`{customer_name}` in a phrase) — the habit checklists reward and customers dislike when
//! overdone. Names are used in memory only and never written. Pure computation; no I/O.

use crate::analyze::rules::RuleSet;
use crate::conversation::Role;
use crate::conversation::Turn;

/// Capitalised words that follow a cue but are not names.
const NOT_NAMES: &[&str] = &[
    "i", "im", "a", "an", "the", "and", "but", "so", "yes", "yeah", "no", "not", "okay", "ok",
    "hi", "hello", "hey", "thanks", "thank", "sorry", "please", "just", "calling", "speaking",
    "here", "really", "very", "still", "about", "from", "with", "your", "my", "mr", "mrs", "ms",
    "miss", "mister", "mx", "dr", "sir", "madam", "customer", "service", "support", "team",
    "again", "now", "today", "also", "actually", "well", "because",
];

const TITLES: &[&str] = &["mr", "mrs", "ms", "miss", "mister", "mx", "dr"];

/// Words of `text` with their case kept (apostrophes dropped: "Name's" → "Names").
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .map(|w| w.replace(['\'', '’'], ""))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Up to two capitalised name words starting at `at`, lower-cased.
fn name_at(ws: &[String], at: usize) -> Vec<String> {
    ws.iter()
        .skip(at)
        .take(2)
        .take_while(|w| {
            w.chars().next().is_some_and(char::is_uppercase)
                && w.chars().all(char::is_alphabetic)
                && !NOT_NAMES.contains(&w.to_lowercase().as_str())
        })
        .map(|w| w.to_lowercase())
        .collect()
}

/// Positions just after each occurrence of the cue (case-insensitive word sequence).
fn after_cue(ws: &[String], cue: &[&str]) -> Vec<usize> {
    (0..ws.len())
        .filter(|&i| {
            i + cue.len() <= ws.len()
                && cue
                    .iter()
                    .zip(&ws[i..])
                    .all(|(c, w)| w.eq_ignore_ascii_case(c))
        })
        .map(|i| i + cue.len())
        .collect()
}

/// The customer's name words (lower case) in a stereo call, from the customer introducing
/// themselves or the agent naming them; the agent's own name is excluded. Empty on mono.
pub fn customer_names(utts: &[Turn]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut agent_own: Vec<String> = Vec::new();
    let first_customer = utts.iter().position(|u| u.role == Role::Customer);
    let first_agent = utts.iter().position(|u| u.role == Role::Agent);
    for (i, u) in utts.iter().enumerate() {
        let ws = words(&u.text);
        let mut cues: Vec<&[&str]> = vec![&["my", "name", "is"], &["my", "names"]];
        match u.role {
            Role::Customer => {
                if Some(i) == first_customer {
                    cues.extend([&["this", "is"][..], &["its"], &["it", "is"], &["im"]]);
                }
                for at in cues.iter().flat_map(|c| after_cue(&ws, c)) {
                    names.extend(name_at(&ws, at));
                }
            }
            Role::Agent => {
                cues.extend([
                    &["you", "are", "speaking", "with"][..],
                    &["youre", "speaking", "with"],
                    &["you", "are", "through", "to"],
                    &["youre", "through", "to"],
                ]);
                if Some(i) == first_agent {
                    cues.extend([&["this", "is"][..], &["im"]]);
                }
                for at in cues.iter().flat_map(|c| after_cue(&ws, c)) {
                    agent_own.extend(name_at(&ws, at));
                }
                let asks: [&[&str]; 4] = [
                    &["am", "i", "speaking", "with"],
                    &["am", "i", "speaking", "to"],
                    &["am", "i", "talking", "to"],
                    &["is", "this"],
                ];
                for at in asks.iter().flat_map(|c| after_cue(&ws, c)) {
                    names.extend(name_at(&ws, at));
                }
                for t in TITLES {
                    for at in after_cue(&ws, &[t]) {
                        names.extend(name_at(&ws, at).into_iter().take(1));
                    }
                }
            }
            Role::Unknown => return Vec::new(),
        }
    }
    names.retain(|n| !agent_own.contains(n));
    names.sort();
    names.dedup();
    names
}

/// How the agent's uses of the customer's name are counted: title + a word, or the name the
/// customer gave, overlapping matches once ("Mr James Cooper" is one use).
const NAME_USE: &str = r#"[[category]]
id = "name_use"
kind = "behaviour"
role = "agent"
any = ["mr *", "mrs *", "ms *", "miss *", "mister *", "mx *", "{customer_name}"]
"#;

/// Times the agent addresses the customer by name; `None` on mono recordings.
pub fn agent_name_uses(utts: &[Turn], names: &[String]) -> Option<i32> {
    if utts.iter().any(|u| u.role == Role::Unknown) {
        return None;
    }
    let rules = RuleSet::parse(NAME_USE, "names.rs").expect("the name-use rule is valid");
    let c = &rules.categories[0];
    Some(
        utts.iter()
            .filter(|u| u.role == Role::Agent)
            .map(|u| c.count_in(&u.text, names))
            .sum::<usize>() as i32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::rules::RuleSet;
    use crate::analyze::rules::fixtures::{fixture, fixture_turns};

    fn names_of(text: &str) -> (Vec<String>, Option<i32>) {
        let lines = fixture(text);
        let utts = fixture_turns(&lines);
        let names = customer_names(&utts);
        let uses = agent_name_uses(&utts, &names);
        (names, uses)
    }

    #[test]
    fn the_customer_introduces_themselves() {
        let (n, uses) = names_of(
            "agent: Thank you for calling, my name is Paul. Who am I speaking with?\n\
             customer: My name is James Cooper. My parcel is late.\n\
             agent: Thank you James. Let me check, James.\n\
             agent: Mr Cooper, it will arrive tomorrow. Thank you James Cooper.",
        );
        assert_eq!(n, vec!["cooper", "james"]);
        assert_eq!(uses, Some(4));
    }

    #[test]
    fn the_agent_names_the_customer_and_its_own_name_is_not_theirs() {
        let (n, uses) = names_of(
            "agent: Hello, this is Sarah. Am I speaking with Mrs Patel?\n\
             customer: Yes. I am really angry. This is the third time.\n\
             agent: I understand, Mrs Patel. Sarah here will fix it.",
        );
        assert_eq!(n, vec!["patel"]);
        assert_eq!(uses, Some(2));
        // "you are speaking with David" is the agent's name
        let (n, _) = names_of(
            "agent: Good morning, you are speaking with David at Acme.\n\
             customer: My order is late.",
        );
        assert!(n.is_empty(), "{n:?}");
        // nothing to find: no names, no uses, and ordinary capitalised words are not names
        let (n, uses) = names_of("customer: Hi. It's The Internet again.\nagent: Okay.");
        assert!(n.is_empty(), "{n:?}");
        assert_eq!(uses, Some(0));
        // mono: roles unknown
        assert_eq!(names_of("any: my name is James").1, None);
    }

    #[test]
    fn customer_name_placeholder_in_rules() {
        let r = RuleSet::parse(
            "[[category]]\nid = \"x\"\nkind = \"behaviour\"\nrole = \"agent\"\nany = [\"thank you {customer_name}\"]\n",
            "t.toml",
        )
        .unwrap();
        let fired = |t: &str| crate::analyze::rules::fixtures::fire_on_fixture(&r, t);
        assert_eq!(
            fired("customer: my name is Ann Lee\nagent: thank you Ann Lee"),
            vec!["x"]
        );
        assert!(fired("customer: my name is Ann Lee\nagent: thank you Bob").is_empty());
        let e = RuleSet::parse(
            "[[category]]\nid = \"x\"\nkind = \"topic\"\nany = [\"{agent_name}\"]\n",
            "t.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("{customer_name}"), "{e}");
    }
}
