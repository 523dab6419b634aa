//! Zoom's rules for the fields of a create call, written once.
//!
//! Both sides of the wire use this module: the roster checker refuses a hire before anything is
//! sent, and the sandbox refuses the same request the way Zoom would. The rules follow
//! `shared/zoom-api.md`; where Zoom is silent (the exact email grammar, `display_name` length),
//! the choice made here is stated on the item.

use std::fmt;

/// How a user is created: Zoom's `action` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Action {
    /// Zoom emails an invitation and the user stays pending until they accept. The only action
    /// under the per-day create quota.
    #[serde(rename = "create")]
    Create,
    /// For accounts with a managed domain; takes a password.
    #[serde(rename = "autoCreate")]
    AutoCreate,
    /// No password and no portal sign-in; Zoom must enable it for the account.
    #[serde(rename = "custCreate")]
    CustCreate,
    /// A pre-provisioned single-sign-on user.
    #[serde(rename = "ssoCreate")]
    SsoCreate,
}

impl Action {
    /// Every action, in Zoom's order.
    pub const ALL: [Action; 4] = [
        Action::Create,
        Action::AutoCreate,
        Action::CustCreate,
        Action::SsoCreate,
    ];

    /// Zoom's exact spelling, the only one it accepts on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::AutoCreate => "autoCreate",
            Action::CustCreate => "custCreate",
            Action::SsoCreate => "ssoCreate",
        }
    }

    /// Parses Zoom's exact spelling, as Zoom itself does: `Create` is not `create`.
    #[must_use]
    pub fn from_exact(text: &str) -> Option<Action> {
        Action::ALL
            .into_iter()
            .find(|action| action.as_str() == text)
    }

    /// Parses an action in any letter case, as people type it into a roster.
    #[must_use]
    pub fn from_any_case(text: &str) -> Option<Action> {
        let text = text.trim();
        Action::ALL
            .into_iter()
            .find(|action| action.as_str().eq_ignore_ascii_case(text))
    }

    /// Whether creates of this kind count against the daily create quota.
    ///
    /// Zoom states the quota for `create` only; the other actions are assumed free of it until
    /// a daily 429 says otherwise.
    #[must_use]
    pub fn uses_daily_quota(self) -> bool {
        self == Action::Create
    }
}

impl fmt::Display for Action {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The user types a create call may ask for. Zoom's legacy type 3 is not accepted.
pub const USER_TYPES: [u8; 4] = [1, 2, 4, 99];

/// Zoom's longest accepted email address, in characters.
pub const EMAIL_MAX_CHARS: usize = 128;

/// Zoom's longest accepted first or last name, in characters.
pub const NAME_MAX_CHARS: usize = 64;

/// Zoom's most Chinese characters in a first or last name.
pub const NAME_MAX_CHINESE: usize = 5;

/// Zoom's most Chinese characters in a display name.
pub const DISPLAY_NAME_MAX_CHINESE: usize = 10;

/// One rule a field broke: the field as Zoom names it and the rule in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The field's path as Zoom reports it, e.g. `user_info.email`.
    pub field: &'static str,
    /// The rule it broke, as a lowercase fragment, e.g. `is longer than 64 characters`.
    pub rule: String,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} {}", self.field, self.rule)
    }
}

/// The fields of one create call, borrowed, for checking.
#[derive(Debug, Clone, Copy)]
pub struct CreateFields<'a> {
    /// The action asked for.
    pub action: Action,
    /// The user type number.
    pub user_type: i64,
    /// The email address, already trimmed.
    pub email: &'a str,
    /// The first name, if any.
    pub first_name: Option<&'a str>,
    /// The last name, if any.
    pub last_name: Option<&'a str>,
    /// The display name, if any.
    pub display_name: Option<&'a str>,
    /// The password, looked at only for `autoCreate`.
    pub password: Option<&'a str>,
}

/// Checks a create call's fields against every rule, returning each problem found.
#[must_use]
pub fn check_create(fields: &CreateFields<'_>) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    if let Some(rule) = email_problem(fields.email) {
        problems.push(FieldProblem {
            field: "user_info.email",
            rule,
        });
    }
    if let Some(rule) = user_type_problem(fields.action, fields.user_type) {
        problems.push(FieldProblem {
            field: "user_info.type",
            rule,
        });
    }
    for (field, value) in [
        ("user_info.first_name", fields.first_name),
        ("user_info.last_name", fields.last_name),
    ] {
        if let Some(rule) = value.and_then(name_problem) {
            problems.push(FieldProblem { field, rule });
        }
    }
    if let Some(rule) = fields.display_name.and_then(display_name_problem) {
        problems.push(FieldProblem {
            field: "user_info.display_name",
            rule,
        });
    }
    if fields.action == Action::AutoCreate {
        let rule = match fields.password {
            None | Some("") => Some("is required for autoCreate".to_owned()),
            Some(password) => password_problem(password),
        };
        if let Some(rule) = rule {
            problems.push(FieldProblem {
                field: "user_info.password",
                rule,
            });
        }
    }
    problems
}

/// Checks an email address's shape and length.
///
/// Zoom publishes no grammar, so this takes the practical one that mail systems and HR exports
/// agree on: one `@`, a non-empty local part, a dotted domain of letters, digits and hyphens,
/// and nothing that cannot stand in an unquoted address (spaces, commas, angle brackets).
#[must_use]
pub fn email_problem(email: &str) -> Option<String> {
    if email.is_empty() {
        return Some("is empty".to_owned());
    }
    if email.chars().count() > EMAIL_MAX_CHARS {
        return Some(format!("is longer than {EMAIL_MAX_CHARS} characters"));
    }
    if email.chars().any(char::is_whitespace) {
        return Some("contains a space".to_owned());
    }
    if email.chars().any(|c| c.is_control() || is_invisible(c)) {
        return Some("contains an invisible or control character".to_owned());
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Some("has no @".to_owned());
    };
    if domain.contains('@') {
        return Some("has more than one @".to_owned());
    }
    let forbidden = |c: char| c.is_control() || "\"(),:;<>[\\]".contains(c);
    if local.is_empty() || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Some("has no valid name before the @".to_owned());
    }
    if local.chars().any(forbidden) {
        return Some("has a character that is not allowed in an address".to_owned());
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |label: &&str| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) {
        return Some("has no valid domain after the @".to_owned());
    }
    None
}

/// Checks a user type against the action it is created with.
#[must_use]
pub fn user_type_problem(action: Action, user_type: i64) -> Option<String> {
    if !USER_TYPES
        .iter()
        .any(|&known| i64::from(known) == user_type)
    {
        return Some(format!(
            "{user_type} is not a user type (use 1, 2, 4 or 99)"
        ));
    }
    if user_type == 99 && action != Action::SsoCreate {
        return Some("99 is allowed only with ssoCreate".to_owned());
    }
    None
}

/// Checks a first or last name.
#[must_use]
pub fn name_problem(name: &str) -> Option<String> {
    if name.chars().any(char::is_control) {
        return Some("contains a control character".to_owned());
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Some(format!("is longer than {NAME_MAX_CHARS} characters"));
    }
    if chinese_characters(name) > NAME_MAX_CHINESE {
        return Some(format!(
            "has more than {NAME_MAX_CHINESE} Chinese characters"
        ));
    }
    None
}

/// Checks a display name. Zoom states only its limit on Chinese characters.
#[must_use]
pub fn display_name_problem(name: &str) -> Option<String> {
    if name.chars().any(char::is_control) {
        return Some("contains a control character".to_owned());
    }
    if chinese_characters(name) > DISPLAY_NAME_MAX_CHINESE {
        return Some(format!(
            "has more than {DISPLAY_NAME_MAX_CHINESE} Chinese characters"
        ));
    }
    None
}

/// Checks an `autoCreate` password against Zoom's published rules.
#[must_use]
pub fn password_problem(password: &str) -> Option<String> {
    let length = password.chars().count();
    if !(8..=32).contains(&length) {
        return Some("must be 8 to 32 characters".to_owned());
    }
    let has = |test: fn(&char) -> bool| password.chars().any(|c| test(&c));
    if !has(char::is_ascii_digit) || !has(char::is_ascii_alphabetic) {
        return Some("must have a letter and a digit".to_owned());
    }
    if !has(char::is_ascii_uppercase) || !has(char::is_ascii_lowercase) {
        return Some("must have upper and lower case letters".to_owned());
    }
    let codes: Vec<u32> = password.chars().map(u32::from).collect();
    if codes.windows(2).all(|pair| pair[0] == pair[1]) {
        return Some("must not be one repeated character".to_owned());
    }
    let is_run = |step: i64| {
        codes
            .windows(2)
            .all(|pair| i64::from(pair[1]) - i64::from(pair[0]) == step)
    };
    if is_run(1) || is_run(-1) {
        return Some("must not be a run of consecutive characters".to_owned());
    }
    None
}

/// Characters that print as nothing: zero-width spaces and joiners, direction marks, the soft
/// hyphen and the byte order mark. Names may need joiners (Persian, Indic scripts), so only
/// addresses refuse them.
fn is_invisible(c: char) -> bool {
    matches!(u32::from(c),
        0x00AD | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0xFEFF)
}

/// Counts the characters in the CJK Unified Ideographs blocks, which Zoom limits in names.
fn chinese_characters(text: &str) -> usize {
    text.chars()
        .filter(|&c| {
            matches!(u32::from(c),
                0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_parsing_is_exact_on_the_wire_and_loose_in_rosters() {
        assert_eq!(Action::from_exact("autoCreate"), Some(Action::AutoCreate));
        assert_eq!(Action::from_exact("AutoCreate"), None);
        assert_eq!(
            Action::from_any_case(" AUTOCREATE "),
            Some(Action::AutoCreate)
        );
        assert_eq!(Action::from_any_case("invite"), None);
    }

    #[test]
    fn email_shapes() {
        for good in ["a@b.co", "first.last+tag@mail.example.com", "ü@exämple.de"] {
            assert_eq!(email_problem(good), None, "{good}");
        }
        for bad in [
            "",
            "plain",
            "a@b",
            "a@@b.co",
            "a b@c.co",
            "a@b..co",
            ".a@b.co",
            "a@-b.co",
            "a,b@c.co",
            "@b.co",
            "a\u{200b}b@c.co",
            "a\u{7}@c.co",
        ] {
            assert!(email_problem(bad).is_some(), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(120));
        assert_eq!(
            email_problem(&long).as_deref(),
            Some("is longer than 128 characters")
        );
    }

    #[test]
    fn user_types_and_sso() {
        assert_eq!(user_type_problem(Action::Create, 1), None);
        assert_eq!(user_type_problem(Action::SsoCreate, 99), None);
        assert!(user_type_problem(Action::Create, 99).is_some());
        assert!(user_type_problem(Action::Create, 3).is_some());
    }

    #[test]
    fn names_limit_length_and_chinese_characters() {
        assert_eq!(name_problem(&"é".repeat(64)), None);
        assert!(name_problem(&"e".repeat(65)).is_some());
        assert_eq!(name_problem("王小明"), None);
        assert_eq!(
            name_problem("Mi\u{200c}na"),
            None,
            "a joiner some scripts need"
        );
        assert!(name_problem("A\u{0}l").is_some());
        assert!(name_problem("王小明王小明").is_some());
        assert!(display_name_problem("王小明王小明王小明王小明").is_some());
    }

    #[test]
    fn passwords() {
        assert_eq!(password_problem("Secret123"), None);
        assert!(password_problem("Short1a").is_some());
        assert!(password_problem("alllowercase1").is_some());
        assert!(password_problem("NoDigitsHere").is_some());
        assert!(password_problem("abcdefgH").is_some());
    }

    #[test]
    fn check_create_names_every_field() {
        let fields = CreateFields {
            action: Action::AutoCreate,
            user_type: 7,
            email: "nope",
            first_name: Some(&"x".repeat(70)),
            last_name: None,
            display_name: None,
            password: None,
        };
        let named: Vec<&str> = check_create(&fields).iter().map(|p| p.field).collect();
        assert_eq!(
            named,
            [
                "user_info.email",
                "user_info.type",
                "user_info.first_name",
                "user_info.password"
            ]
        );
    }
}
