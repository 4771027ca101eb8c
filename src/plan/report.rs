//! Printing a plan: readable text with `+ ~ -` (colour on a terminal, `NO_COLOR` honoured)
//! and JSON in the shape of Terraform's plan (`resource_changes[].change.actions`).

use serde_json::{json, Value};

use super::{Plan, Purpose};
use crate::kind::{Action, AttributeChange, ResourceChange};

pub fn symbol(action: Action) -> &'static str {
    match action {
        Action::Create => "+",
        Action::Update => "~",
        Action::Delete => "-",
        Action::Adopt => "⇐",
    }
}

/// ANSI colours, or none.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub colour: bool,
}

impl Style {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset.
    pub fn detect() -> Self {
        use std::io::IsTerminal;
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            colour: std::io::stdout().is_terminal() && !no_color,
        }
    }

    fn paint(&self, action: Action, text: &str) -> String {
        if !self.colour {
            return text.to_string();
        }
        let code = match action {
            Action::Create => "32",
            Action::Update => "33",
            Action::Delete => "31",
            Action::Adopt => "36",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    fn bold(&self, text: &str) -> String {
        if self.colour {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// The plan as text.
pub fn text(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    for warning in &plan.warnings {
        out.push_str(&format!("warning: {warning}\n"));
    }
    if let Some(reach) = &plan.reach {
        out.push_str(&format!("reach: {}\n", reach.sentence()));
    }
    if !plan.has_changes() {
        out.push_str(&format!(
            "No changes. Tenant {} matches {}.\n",
            plan.tenant_id,
            plan.source.display()
        ));
        return out;
    }
    let verb = match plan.purpose {
        Purpose::Apply => "will change",
        Purpose::Destroy => "will destroy in",
    };
    out.push_str(&format!(
        "{} {verb} tenant {}:\n\n",
        plan.source.display(),
        plan.tenant_id
    ));
    for change in &plan.changes {
        out.push_str(&change_text(change, style));
    }
    out.push_str(&format!(
        "\n{} {} to add, {} to change, {} to remove{}.\n",
        style.bold("Plan:"),
        plan.count(Action::Create),
        plan.count(Action::Update),
        plan.count(Action::Delete),
        match plan.count(Action::Adopt) {
            0 => String::new(),
            n => format!(", {n} to adopt"),
        }
    ));
    out
}

fn change_text(change: &ResourceChange, style: Style) -> String {
    let mut out = format!(
        "  {} {}",
        style.paint(change.action, symbol(change.action)),
        style.bold(&change.address.to_string())
    );
    if let Some(reason) = &change.reason {
        out.push_str(&format!("  ({reason})"));
    }
    out.push('\n');
    let width = change
        .attributes
        .iter()
        .map(|a| a.name.len())
        .max()
        .unwrap_or(0);
    for attribute in &change.attributes {
        match change.action {
            Action::Create => out.push_str(&format!(
                "      {:width$} = {}\n",
                attribute.name,
                indent(&pretty(&attribute.after), width + 9)
            )),
            _ => out.push_str(&update_text(attribute, width, style)),
        }
    }
    out
}

/// An updated attribute: lists show what goes and what comes, scalars old → new.
fn update_text(attribute: &AttributeChange, width: usize, style: Style) -> String {
    let name = &attribute.name;
    match (&attribute.before, &attribute.after) {
        (Value::Array(before), Value::Array(after)) => {
            let mut out = format!("      {name}:\n");
            for item in before.iter().filter(|i| !after.contains(i)) {
                out.push_str(&format!(
                    "        {} {}\n",
                    style.paint(Action::Delete, "-"),
                    indent(&pretty(item), 10)
                ));
            }
            for item in after.iter().filter(|i| !before.contains(i)) {
                out.push_str(&format!(
                    "        {} {}\n",
                    style.paint(Action::Create, "+"),
                    indent(&pretty(item), 10)
                ));
            }
            out
        }
        (before, after) => format!(
            "      {name:width$}: {} → {}\n",
            pretty(before),
            pretty(after)
        ),
    }
}

fn pretty(value: &Value) -> String {
    match value {
        Value::Array(items) if items.iter().all(|i| i.is_string()) && !items.is_empty() => {
            let lines: Vec<String> = items.iter().map(|i| format!("  {i},")).collect();
            format!("[\n{}\n]", lines.join("\n"))
        }
        Value::Array(_) | Value::Object(_) => {
            serde_json::to_string_pretty(value).unwrap_or_default()
        }
        other => other.to_string(),
    }
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.to_string()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The plan as JSON. Secrets appear only as `(sensitive)`.
pub fn json(plan: &Plan) -> Value {
    let changes: Vec<Value> = plan
        .changes
        .iter()
        .map(|c| {
            json!({
                "address": c.address,
                "type": c.kind(),
                "change": {
                    "actions": [match c.action { Action::Create => "create", Action::Update => "update", Action::Delete => "delete", Action::Adopt => "adopt" }],
                    "before": c.before,
                    "after": c.after,
                },
                "attributes": c.attributes,
                "reason": c.reason,
                "depends_on": c.depends_on,
            })
        })
        .collect();
    json!({
        "format_version": "1.0",
        "purpose": plan.purpose,
        "tool": crate::USER_AGENT,
        "config": plan.source,
        "tenant_id": plan.tenant_id,
        "changes_pending": plan.has_changes(),
        "summary": {
            "add": plan.count(Action::Create),
            "change": plan.count(Action::Update),
            "remove": plan.count(Action::Delete),
            "adopt": plan.count(Action::Adopt),
            "tenant_writes": plan.tenant_writes(),
        },
        "resource_changes": changes,
        "warnings": plan.warnings,
        "policy_reach": plan.reach,
    })
}
