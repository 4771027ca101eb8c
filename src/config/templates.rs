//! The template catalogue: the built-in templates shipped in `templates/`, the file a
//! user's template renders to, and whether a template compiles. Config validation and
//! rendering both read it; it depends on neither.

use handlebars::Template;

/// A template shipped inside the binary.
pub struct BuiltinTemplate {
    /// The name a config uses in `outputs.templates`.
    pub name: &'static str,
    /// The file it renders to inside the outputs directory.
    pub output_file: &'static str,
    pub source: &'static str,
}

/// Every built-in template: each helpdesk's sheet (Markdown and JSON) and the Exchange
/// Online scripts. `crate::helpdesk` says which a helpdesk renders by default.
pub const BUILTIN_TEMPLATES: &[BuiltinTemplate] = &[
    BuiltinTemplate {
        name: "pandora-itsm",
        output_file: "pandora-itsm.md",
        source: include_str!("../../templates/pandora-itsm.md.hbs"),
    },
    BuiltinTemplate {
        name: "pandora-itsm-json",
        output_file: "pandora-itsm.json",
        source: include_str!("../../templates/pandora-itsm.json.hbs"),
    },
    BuiltinTemplate {
        name: "glpi",
        output_file: "glpi.md",
        source: include_str!("../../templates/glpi.md.hbs"),
    },
    BuiltinTemplate {
        name: "glpi-json",
        output_file: "glpi.json",
        source: include_str!("../../templates/glpi.json.hbs"),
    },
    BuiltinTemplate {
        name: "zammad",
        output_file: "zammad.md",
        source: include_str!("../../templates/zammad.md.hbs"),
    },
    BuiltinTemplate {
        name: "zammad-json",
        output_file: "zammad.json",
        source: include_str!("../../templates/zammad.json.hbs"),
    },
    BuiltinTemplate {
        name: "itop",
        output_file: "itop.md",
        source: include_str!("../../templates/itop.md.hbs"),
    },
    BuiltinTemplate {
        name: "itop-json",
        output_file: "itop.json",
        source: include_str!("../../templates/itop.json.hbs"),
    },
    BuiltinTemplate {
        name: "znuny",
        output_file: "znuny.md",
        source: include_str!("../../templates/znuny.md.hbs"),
    },
    BuiltinTemplate {
        name: "znuny-json",
        output_file: "znuny.json",
        source: include_str!("../../templates/znuny.json.hbs"),
    },
    BuiltinTemplate {
        name: "osticket",
        output_file: "osticket.md",
        source: include_str!("../../templates/osticket.md.hbs"),
    },
    BuiltinTemplate {
        name: "osticket-json",
        output_file: "osticket.json",
        source: include_str!("../../templates/osticket.json.hbs"),
    },
    BuiltinTemplate {
        name: "request-tracker",
        output_file: "request-tracker.md",
        source: include_str!("../../templates/request-tracker.md.hbs"),
    },
    BuiltinTemplate {
        name: "wsgetmail",
        output_file: "wsgetmail.json",
        source: include_str!("../../templates/wsgetmail.json.hbs"),
    },
    BuiltinTemplate {
        name: "exchange-online",
        output_file: "exchange-online.ps1",
        source: include_str!("../../templates/exchange-online.ps1.hbs"),
    },
    BuiltinTemplate {
        name: "exchange-online-rbac",
        output_file: "exchange-online-rbac.ps1",
        source: include_str!("../../templates/exchange-online-rbac.ps1.hbs"),
    },
];

pub fn builtin(name: &str) -> Option<&'static BuiltinTemplate> {
    BUILTIN_TEMPLATES.iter().find(|t| t.name == name)
}

/// The file a user's template renders to inside the outputs directory: its name without `.hbs`.
pub fn file_output_name(path: &std::path::Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(|n| n.trim_end_matches(".hbs").to_string())
        .unwrap_or_else(|| "rendered".into())
}

/// A template that does not compile, with where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateProblem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Compiles `source` to find syntax errors before anything runs.
pub fn check(source: &str) -> Result<(), TemplateProblem> {
    Template::compile(source).map(|_| ()).map_err(|e| {
        let (line, column) = e.pos().unwrap_or((1, 1));
        TemplateProblem {
            line,
            column,
            message: format!("template does not compile: {}", e.reason()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_templates_compile() {
        for template in BUILTIN_TEMPLATES {
            check(template.source).unwrap();
        }
    }

    #[test]
    fn a_broken_template_is_located() {
        let problem = check("line one\n{{#if x}}never closed\n").unwrap_err();
        assert_eq!(problem.line, 3);
        assert!(problem.message.starts_with("template does not compile"));
    }
}
