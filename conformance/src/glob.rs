//! A tiny glob for case ids: `*` matches any run of characters (`/`
//! included), `?` matches one character; everything else is literal.

#[derive(Clone, Debug)]
pub(crate) struct Glob {
    pattern: Vec<char>,
}

impl Glob {
    pub(crate) fn new(pattern: &str) -> Glob {
        Glob {
            pattern: pattern.chars().collect(),
        }
    }

    pub(crate) fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let (p, t) = (&self.pattern, &text);
        // Iterative matching with backtracking to the last `*`: linear in
        // practice, no recursion.
        let (mut pi, mut ti) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
                pi += 1;
                ti += 1;
            } else if pi < p.len() && p[pi] == '*' {
                star = Some((pi, ti));
                pi += 1;
            } else if let Some((sp, st)) = star {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|&c| c == '*')
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    #[test]
    fn table() {
        for (pattern, text, want) in [
            ("*", "4.1/notification-unknown-method", true),
            ("4.1/*", "4.1/notification-unknown-method", true),
            ("4/*", "4.1/notification-unknown-method", false),
            ("*notification*", "7/notification-update", true),
            ("7/?mpty-array", "7/empty-array", true),
            ("7/empty-array", "7/empty-array", true),
            ("7/empty-array", "6/empty-array", false),
            ("*/empty-*", "6/empty-array", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("", "", true),
            ("", "x", false),
        ] {
            assert_eq!(Glob::new(pattern).matches(text), want, "{pattern} vs {text}");
        }
    }
}
