//! Reading PyO3's attributes the way a person does: which macro an attribute is (`pyclass`,
//! `pyo3::pyclass`, `pyo3::prelude::pyclass`) and its `key = "value"` options.
//!
//! Options are split at top-level commas by hand instead of being parsed as `syn::Meta`, because
//! PyO3 option values are not all expressions (`signature = (a, /, b)`), and one option the scan
//! does not understand must not hide the `name = "…"` next to it.

use proc_macro2::{TokenStream, TokenTree};

/// One option inside an attribute's parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AttributeOption {
    pub(super) key: String,
    /// The value when it is a string literal: `name = "Counter"`.
    pub(super) text: Option<String>,
    /// Whether the option had a value at all (`extends = Base` has one, but no text).
    pub(super) has_value: bool,
}

/// Whether `attribute` is PyO3's `name` macro, under any of the paths it can be written with.
pub(super) fn is_macro(attribute: &syn::Attribute, name: &str) -> bool {
    let segments: Vec<String> = attribute
        .path()
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect();
    match segments.as_slice() {
        [only] => only == name,
        [first, .., last] => first == "pyo3" && last == name,
        [] => false,
    }
}

pub(super) fn find<'a>(attributes: &'a [syn::Attribute], name: &str) -> Option<&'a syn::Attribute> {
    attributes
        .iter()
        .find(|attribute| is_macro(attribute, name))
}

pub(super) fn has(attributes: &[syn::Attribute], name: &str) -> bool {
    find(attributes, name).is_some()
}

/// The options of one attribute; empty for a bare `#[pyclass]`.
pub(super) fn options(attribute: &syn::Attribute) -> Vec<AttributeOption> {
    match &attribute.meta {
        syn::Meta::List(list) => split_options(list.tokens.clone()),
        _ => Vec::new(),
    }
}

fn split_options(tokens: TokenStream) -> Vec<AttributeOption> {
    let mut chunks: Vec<Vec<TokenTree>> = vec![Vec::new()];
    for token in tokens {
        match &token {
            TokenTree::Punct(punct) if punct.as_char() == ',' => chunks.push(Vec::new()),
            _ => {
                if let Some(chunk) = chunks.last_mut() {
                    chunk.push(token);
                }
            }
        }
    }
    chunks
        .into_iter()
        .filter_map(|chunk| parse_option(&chunk))
        .collect()
}

fn parse_option(chunk: &[TokenTree]) -> Option<AttributeOption> {
    let TokenTree::Ident(key) = chunk.first()? else {
        return None;
    };
    let key = key.to_string();
    let key = key.strip_prefix("r#").map(str::to_owned).unwrap_or(key);
    let has_value = matches!(chunk.get(1), Some(TokenTree::Punct(punct)) if punct.as_char() == '=');
    let text = match (has_value, chunk.get(2..)) {
        (true, Some([TokenTree::Literal(literal)])) => {
            syn::parse_str::<syn::LitStr>(&literal.to_string())
                .ok()
                .map(|literal| literal.value())
        }
        _ => None,
    };
    Some(AttributeOption {
        key,
        text,
        has_value,
    })
}

/// The options of every attribute among `names` plus every `#[pyo3(…)]`, in order: PyO3 accepts
/// an option in either place (`#[pyclass(name = "X")]` or `#[pyclass] #[pyo3(name = "X")]`).
pub(super) fn all_options(
    attributes: &[syn::Attribute],
    names: &[&str],
) -> Vec<(String, AttributeOption)> {
    attributes
        .iter()
        .filter_map(|attribute| {
            let which = names
                .iter()
                .chain(std::iter::once(&"pyo3"))
                .find(|name| is_macro(attribute, name))?;
            Some((which.to_string(), options(attribute)))
        })
        .flat_map(|(which, options)| {
            options
                .into_iter()
                .map(move |option| (which.clone(), option))
        })
        .collect()
}

/// The string value of `key` (`name = "…"`) and the attribute that carried it.
pub(super) fn text_option(
    attributes: &[syn::Attribute],
    names: &[&str],
    key: &str,
) -> Option<(String, String)> {
    all_options(attributes, names)
        .into_iter()
        .find(|(_, option)| option.key == key)
        .and_then(|(which, option)| Some((which, option.text?)))
}

pub(super) fn has_flag(attributes: &[syn::Attribute], names: &[&str], key: &str) -> bool {
    all_options(attributes, names)
        .iter()
        .any(|(_, option)| option.key == key)
}

/// The argument of `#[getter(name)]` / `#[setter(name)]`: a bare identifier or a string.
pub(super) fn property_name(attribute: &syn::Attribute) -> Option<String> {
    let syn::Meta::List(list) = &attribute.meta else {
        return None;
    };
    let mut tokens = list.tokens.clone().into_iter();
    let name = match tokens.next()? {
        TokenTree::Ident(ident) => {
            let text = ident.to_string();
            text.strip_prefix("r#").map(str::to_owned).unwrap_or(text)
        }
        TokenTree::Literal(literal) => syn::parse_str::<syn::LitStr>(&literal.to_string())
            .ok()?
            .value(),
        _ => return None,
    };
    Some(name)
}

/// Whether an item carries `#[cfg(…)]`: its absence is then not necessarily a mistake.
pub(super) fn is_conditional(attributes: &[syn::Attribute]) -> bool {
    attributes
        .iter()
        .any(|attribute| attribute.path().is_ident("cfg"))
}

/// `#[path = "…"]` on a `mod`.
pub(super) fn path_attribute(attributes: &[syn::Attribute]) -> Option<String> {
    attributes
        .iter()
        .find_map(|attribute| match &attribute.meta {
            syn::Meta::NameValue(pair) if pair.path.is_ident("path") => match &pair.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(text),
                    ..
                }) => Some(text.value()),
                _ => None,
            },
            _ => None,
        })
}

/// `pub`, `pub(crate)`, `pub(super)`, `pub(in …)`: anything but private.
pub(super) fn is_visible(visibility: &syn::Visibility) -> bool {
    !matches!(visibility, syn::Visibility::Inherited)
}

/// The `rename_all = "…"` rules PyO3 documents, applied to a field or variant name.
pub(super) fn rename(name: &str, rule: &str) -> Option<String> {
    let words = words(name);
    let capitalized = |word: &String| {
        let mut characters = word.chars();
        match characters.next() {
            Some(first) => first
                .to_uppercase()
                .chain(characters.flat_map(char::to_lowercase))
                .collect(),
            None => String::new(),
        }
    };
    let lower = || {
        words
            .iter()
            .map(|word| word.to_lowercase())
            .collect::<Vec<_>>()
    };
    let upper = || {
        words
            .iter()
            .map(|word| word.to_uppercase())
            .collect::<Vec<_>>()
    };
    Some(match rule {
        "camelCase" => words
            .iter()
            .enumerate()
            .map(|(index, word)| {
                if index == 0 {
                    word.to_lowercase()
                } else {
                    capitalized(word)
                }
            })
            .collect(),
        "PascalCase" => words.iter().map(capitalized).collect(),
        "kebab-case" => lower().join("-"),
        "SCREAMING-KEBAB-CASE" => upper().join("-"),
        "SCREAMING_SNAKE_CASE" => upper().join("_"),
        "snake_case" => lower().join("_"),
        "lowercase" => lower().concat(),
        "UPPERCASE" => upper().concat(),
        _ => return None,
    })
}

/// Splits `snake_case` and `PascalCase` names into words.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    for part in name.split('_').filter(|part| !part.is_empty()) {
        let mut current = String::new();
        let mut previous_lower = false;
        for character in part.chars() {
            if character.is_uppercase() && previous_lower && !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = character.is_lowercase() || character.is_ascii_digit();
            current.push(character);
        }
        if !current.is_empty() {
            words.push(current);
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute(text: &str) -> syn::Attribute {
        let item: syn::ItemStruct = syn::parse_str(&format!("{text} struct X;")).unwrap();
        item.attrs.into_iter().next().unwrap()
    }

    #[test]
    fn recognises_paths() {
        assert!(is_macro(&attribute("#[pyclass]"), "pyclass"));
        assert!(is_macro(&attribute("#[pyo3::pyclass]"), "pyclass"));
        assert!(is_macro(
            &attribute("#[pyo3::prelude::pyclass(name = \"A\")]"),
            "pyclass"
        ));
        assert!(!is_macro(&attribute("#[other::pyclass]"), "pyclass"));
        assert!(!is_macro(&attribute("#[derive(Clone)]"), "pyclass"));
    }

    #[test]
    fn options_survive_odd_values() {
        let options = options(&attribute(
            "#[pyo3(signature = (a, /, b = 1, *args), name = \"renamed\", text_signature = \"(a)\")]",
        ));
        let keys: Vec<_> = options.iter().map(|option| option.key.as_str()).collect();
        assert_eq!(keys, ["signature", "name", "text_signature"]);
        assert_eq!(options[1].text.as_deref(), Some("renamed"));
        assert_eq!(options[0].text, None);
    }

    #[test]
    fn options_from_pyclass_and_pyo3() {
        let item: syn::ItemStruct = syn::parse_str(
            "#[pyclass(frozen, extends = PyException)] #[pyo3(name = \"Err\")] struct X;",
        )
        .unwrap();
        assert_eq!(
            text_option(&item.attrs, &["pyclass"], "name"),
            Some(("pyo3".to_owned(), "Err".to_owned()))
        );
        assert!(has_flag(&item.attrs, &["pyclass"], "frozen"));
        assert!(!has_flag(&item.attrs, &["pyclass"], "get_all"));
    }

    #[test]
    fn property_names() {
        assert_eq!(
            property_name(&attribute("#[getter(DATA)]")),
            Some("DATA".to_owned())
        );
        assert_eq!(
            property_name(&attribute("#[getter(\"data\")]")),
            Some("data".to_owned())
        );
        assert_eq!(property_name(&attribute("#[getter]")), None);
    }

    #[test]
    fn rename_rules() {
        assert_eq!(rename("max_value", "camelCase").unwrap(), "maxValue");
        assert_eq!(rename("max_value", "PascalCase").unwrap(), "MaxValue");
        assert_eq!(
            rename("max_value", "SCREAMING_SNAKE_CASE").unwrap(),
            "MAX_VALUE"
        );
        assert_eq!(rename("MaxValue", "snake_case").unwrap(), "max_value");
        assert_eq!(rename("MaxValue", "kebab-case").unwrap(), "max-value");
        assert_eq!(rename("max_value", "UPPERCASE").unwrap(), "MAXVALUE");
        assert_eq!(rename("x", "Title Case"), None);
    }
}
