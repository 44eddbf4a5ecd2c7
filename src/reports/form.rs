//! The report form as a browser sends it: repeated keys such as `children[1].name`, yes/no radio
//! answers, category check boxes, and the buttons that add a row for one more child or guardian
//! (so the form works without JavaScript). Pure: turns the posted pairs into a [`ReportInput`].

use std::collections::BTreeMap;

use crate::error::FieldError;
use crate::reports::model::{
    ChildInput, GuardianInput, PrivateReporterInput, ReportInput, MAX_CHILDREN, MAX_GUARDIANS,
};

/// Which button sent the form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    Submit,
    AddChild,
    AddGuardian,
}

/// Whether a private person gives their name. Empty until they choose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Identity {
    #[default]
    Unchosen,
    Anonymous,
    Named,
}

/// A posted report form, with every value kept as typed so that it can be shown again.
#[derive(Clone, Debug, Default)]
pub struct ReportForm {
    pub input: ReportInput,
    pub identity: Identity,
    /// Name and contact details as typed, even while "anonymous" is chosen.
    pub reporter: PrivateReporterInput,
}

/// The form field name of a row's value, e.g. `children[0].name`.
pub fn key(list: &str, index: impl std::fmt::Display, name: &str) -> String {
    format!("{list}[{index}].{name}")
}

/// The form field name of a row without sub-fields, e.g. `goals[0]`.
pub fn key_plain(list: &str, index: impl std::fmt::Display) -> String {
    format!("{list}[{index}]")
}

fn yes_no(value: &str) -> Option<bool> {
    match value {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

/// Splits `children[3].name` into (`children`, 3, `name`).
pub fn row_key(key: &str) -> Option<(&str, usize, &str)> {
    let (list, rest) = key.split_once('[')?;
    let (index, rest) = rest.split_once(']')?;
    let name = rest.strip_prefix('.')?;
    Some((list, index.parse().ok()?, name))
}

impl ReportForm {
    /// An empty form: one child and one guardian row to fill in.
    pub fn blank() -> Self {
        let mut form = Self::default();
        form.ensure_rows();
        form
    }

    /// Reads posted pairs. Unknown keys (the CSRF token, login fields) are ignored here.
    pub fn parse(pairs: &[(String, String)]) -> (Self, Intent) {
        let mut form = Self::default();
        let mut children: BTreeMap<usize, ChildInput> = BTreeMap::new();
        let mut guardians: BTreeMap<usize, GuardianInput> = BTreeMap::new();
        let mut intent = Intent::Submit;
        let input = &mut form.input;
        for (key, value) in pairs {
            match key.as_str() {
                "municipality_id" => input.municipality_id = value.clone(),
                "concern" => input.concern = value.clone(),
                "categories" => input.categories.push(value.clone()),
                "acute_danger" => input.acute_danger = yes_no(value),
                "police_informed" => input.police_informed = yes_no(value),
                "interpreter_language" => input.interpreter_language = value.clone(),
                "other_agencies" => input.other_agencies = value.clone(),
                "identity" => {
                    form.identity = match value.as_str() {
                        "anonymous" => Identity::Anonymous,
                        "named" => Identity::Named,
                        _ => Identity::Unchosen,
                    }
                }
                "reporter.name" => form.reporter.name = value.clone(),
                other if other.starts_with("someone_close.") => {
                    let code = &other["someone_close.".len()..];
                    if !value.trim().is_empty() && code.len() <= 40 {
                        input.someone_close.insert(code.to_string(), value.clone());
                    }
                }
                "reporter.phone" => form.reporter.phone = value.clone(),
                "reporter.email" => form.reporter.email = value.clone(),
                "add" => {
                    intent = match value.as_str() {
                        "child" => Intent::AddChild,
                        "guardian" => Intent::AddGuardian,
                        _ => Intent::Submit,
                    }
                }
                other => match row_key(other) {
                    Some(("children", i, field)) if i < 2 * MAX_CHILDREN => {
                        let c = children.entry(i).or_default();
                        match field {
                            "personal_number" => c.personal_number = value.clone(),
                            "name" => c.name = value.clone(),
                            "birth_date" => c.birth_date = value.clone(),
                            "address" => c.address = value.clone(),
                            "school" => c.school = value.clone(),
                            "told" => c.told = yes_no(value),
                            "not_told_reason" => c.not_told_reason = value.clone(),
                            _ => {}
                        }
                    }
                    Some(("guardians", i, field)) if i < 2 * MAX_GUARDIANS => {
                        let g = guardians.entry(i).or_default();
                        match field {
                            "name" => g.name = value.clone(),
                            "phone" => g.phone = value.clone(),
                            "told" => g.told = yes_no(value),
                            "not_told_reason" => g.not_told_reason = value.clone(),
                            _ => {}
                        }
                    }
                    _ => {}
                },
            }
        }
        input.children = children.into_values().collect();
        input.guardians = guardians.into_values().collect();
        form.ensure_rows();
        let input = &mut form.input;
        match intent {
            Intent::AddChild if input.children.len() < MAX_CHILDREN => {
                input.children.push(ChildInput::default());
            }
            Intent::AddGuardian if input.guardians.len() < MAX_GUARDIANS => {
                input.guardians.push(GuardianInput::default());
            }
            _ => {}
        }
        (form, intent)
    }

    fn ensure_rows(&mut self) {
        if self.input.children.is_empty() {
            self.input.children.push(ChildInput::default());
        }
        if self.input.guardians.is_empty() {
            self.input.guardians.push(GuardianInput::default());
        }
    }

    /// The report to check, and what the form itself lacks. A private person must choose to be
    /// anonymous or named; a named one must give a name (checked with the rest by `validate`).
    pub fn to_input(&self, public: bool) -> (ReportInput, Vec<FieldError>) {
        let mut input = self.input.clone();
        let mut errors = Vec::new();
        if public {
            match self.identity {
                Identity::Unchosen => errors.push(FieldError::new(
                    "identity",
                    "Välj om du vill vara anonym eller lämna ditt namn.",
                )),
                Identity::Anonymous => input.reporter = None,
                Identity::Named if self.reporter.name.trim().is_empty() => {
                    errors.push(FieldError::new(
                        "reporter.name",
                        "Fyll i ditt namn, eller välj att vara anonym.",
                    ));
                    input.reporter = Some(self.reporter.clone());
                }
                Identity::Named => input.reporter = Some(self.reporter.clone()),
            }
        }
        (input, errors)
    }

    pub fn has_category(&self, code: &str) -> bool {
        self.input.categories.iter().any(|c| c == code)
    }

    /// The someone-close answer given for a category, or empty.
    pub fn close_answer(&self, code: &str) -> &str {
        self.input
            .someone_close
            .get(code)
            .map_or("", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_rows_radios_and_check_boxes() {
        let (form, intent) = ReportForm::parse(&pairs(&[
            ("csrf_token", "x"),
            ("municipality_id", "m1"),
            ("children[0].name", "Kim"),
            ("children[0].told", "no"),
            ("children[1].name", "Syskon"),
            ("children[1].told", "yes"),
            ("guardians[0].name", "Förälder"),
            ("categories", "neglect"),
            ("categories", "other"),
            ("acute_danger", "no"),
            ("police_informed", "yes"),
            ("identity", "anonymous"),
        ]));
        assert_eq!(intent, Intent::Submit);
        let input = &form.input;
        assert_eq!(input.municipality_id, "m1");
        assert_eq!(input.children.len(), 2);
        assert_eq!(input.children[0].told, Some(false));
        assert_eq!(input.children[1].name, "Syskon");
        assert_eq!(input.guardians[0].name, "Förälder");
        assert_eq!(input.categories, ["neglect", "other"]);
        assert_eq!(
            (input.acute_danger, input.police_informed),
            (Some(false), Some(true))
        );
        assert!(form.has_category("other") && !form.has_category("sexual_abuse"));
        assert_eq!(form.identity, Identity::Anonymous);
    }

    #[test]
    fn the_add_buttons_add_an_empty_row_and_keep_the_rest() {
        let (form, intent) = ReportForm::parse(&pairs(&[
            ("children[0].name", "Kim"),
            ("concern", "Oro"),
            ("add", "child"),
        ]));
        assert_eq!(intent, Intent::AddChild);
        assert_eq!(form.input.children.len(), 2);
        assert_eq!(form.input.children[0].name, "Kim");
        assert_eq!(form.input.concern, "Oro");
        let (form, _) = ReportForm::parse(&pairs(&[("add", "guardian")]));
        assert_eq!(form.input.guardians.len(), 2);
    }

    #[test]
    fn rows_are_capped_and_odd_keys_ignored() {
        let mut many = vec![("add".to_string(), "child".to_string())];
        for i in 0..MAX_CHILDREN {
            many.push((key("children", i, "name"), "Barn".into()));
        }
        many.push(("children[99999999999999999999].name".into(), "x".into()));
        many.push(("children[1]name".into(), "x".into()));
        let (form, _) = ReportForm::parse(&many);
        assert_eq!(form.input.children.len(), MAX_CHILDREN);
    }

    #[test]
    fn a_private_person_chooses_anonymous_or_named() {
        let (form, _) = ReportForm::parse(&pairs(&[("reporter.name", "Granne")]));
        let (_, errors) = form.to_input(true);
        assert_eq!(errors[0].field, "identity");
        assert!(
            form.to_input(false).1.is_empty(),
            "professionals never choose"
        );

        let (form, _) = ReportForm::parse(&pairs(&[
            ("identity", "anonymous"),
            ("reporter.name", "Granne"),
        ]));
        let (input, errors) = form.to_input(true);
        assert!(errors.is_empty());
        assert_eq!(
            input.reporter, None,
            "anonymous means nothing about the sender"
        );

        let (form, _) = ReportForm::parse(&pairs(&[("identity", "named")]));
        assert_eq!(form.to_input(true).1[0].field, "reporter.name");
    }
}
