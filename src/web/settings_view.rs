//! How `/settings` looks (maud): the sources of each pipeline and their health, the approval
//! rules as loaded, and the users with their forms. No script; tables scroll in their own box on
//! a phone; every outside value (addresses, errors from a mail server, rule names) is escaped by
//! maud.

use chrono::{DateTime, Utc};
use maud::{html, Markup};

use super::views::{layout, t};
use crate::approval::{ApprovalPolicy, Lang, StepConfig};
use crate::config::Settings;
use crate::sources::SourceConfig;
use crate::store::mail::MailStatusReport;
use crate::store::metrics::Gauges;
use crate::store::users::{Session, User};
use crate::users::Role;

/// What the health table shows.
pub struct Health {
    pub mail: MailStatusReport,
    pub gauges: Gauges,
}

fn when(at: Option<DateTime<Utc>>) -> String {
    at.map(|a| a.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "—".into())
}

fn sources(l: Lang, settings: &Settings, h: &Health) -> Markup {
    html! {
        div #sources { @if settings.loaded_pipelines.iter().all(|p| p.sources.is_empty()) {
            p { (t(l, "No source is configured: documents come in by `facteur ingest` and the API.",
                    "Aucune source n'est configurée : les documents arrivent par `facteur ingest` et l'API.")) }
        } @else {
        div.scroll { table {
            thead { tr {
                th { (t(l, "Pipeline", "Pipeline")) }
                th { (t(l, "Source", "Source")) }
                th { (t(l, "Kind", "Type")) }
                th { (t(l, "Where", "Où")) }
            } }
            tbody {
                @for p in &settings.loaded_pipelines {
                    @for s in &p.sources {
                        tr {
                            td { (p.name) }
                            td { (s.name()) }
                            @match s {
                                SourceConfig::Folder(f) => { td { (t(l, "folder", "dossier")) } td { (f.path.display()) } }
                                SourceConfig::Imap(i) => { td { "IMAP" } td { (i.host) } }
                            }
                        }
                    }
                }
            }
        } }
        } }
        h3 { (t(l, "Mailboxes", "Boîtes aux lettres")) }
        @if h.mail.folders.is_empty() {
            p { (t(l, "No IMAP source is configured or has run.", "Aucune source IMAP n'est configurée ou n'a tourné.")) }
        } @else {
            div.scroll { table #mail-health {
                thead { tr {
                    th { (t(l, "Account / folder", "Compte / dossier")) }
                    th { (t(l, "Last success", "Dernier succès")) }
                    th.n { (t(l, "Backlog", "En attente")) }
                    th.n { (t(l, "Imported", "Importés")) }
                    th.n { (t(l, "Failing", "En échec")) }
                    th { (t(l, "Last error", "Dernière erreur")) }
                } }
                tbody {
                    @for f in &h.mail.folders {
                        tr {
                            td { (f.account) " / " (f.folder) }
                            td { (when(f.last_success_at)) }
                            td.n { (f.backlog) }
                            td.n { (f.imported) }
                            td.n { (f.failing) }
                            td { (f.last_error.as_deref().unwrap_or("—")) }
                        }
                    }
                }
            } }
        }
        @for a in h.mail.accounts.iter().filter(|a| a.connect_error.is_some() || a.auth_error.is_some()) {
            p.err {
                b { (a.account) } ": "
                (a.connect_error.as_deref().or(a.auth_error.as_deref()).unwrap_or(""))
                @if let Some(at) = a.retry_at { " — " (t(l, "next attempt", "prochain essai")) " " (when(Some(at))) }
            }
        }
        h3 { (t(l, "Queues", "Files")) }
        div.scroll { table #queues {
            tbody {
                @for (stage, n, oldest) in &h.gauges.queued {
                    tr { th { (stage) } td.n { (n) } td { (t(l, "oldest", "plus ancien")) " " (when(*oldest)) } }
                }
                tr { th { (t(l, "Failed jobs", "Travaux en échec")) } td.n { (h.gauges.dead_jobs) } td {} }
                tr { th { (t(l, "Mail waiting to go out", "Mails en attente d'envoi")) } td.n { (h.gauges.outbox_pending) } td {} }
                tr { th { (t(l, "Mail failing to go out", "Mails en échec d'envoi")) } td.n { (h.gauges.outbox_failing) } td {} }
            }
        } }
    }
}

fn step(s: &StepConfig) -> String {
    let who: Vec<String> = s
        .approvers
        .iter()
        .map(|a| match a {
            crate::approval::policy::ApproverEntry::Email(e) => e.clone(),
            crate::approval::policy::ApproverEntry::Full { email, .. } => email.clone(),
        })
        .collect();
    let mut text = format!("{} ({})", who.join(", "), s.mode.as_str());
    if let Some(q) = s.quorum {
        text.push_str(&format!(" quorum {q}"));
    }
    if let (Some(to), Some(days)) = (&s.escalate_to, s.escalate_days) {
        text.push_str(&format!("; → {to} after {days} d"));
    }
    text
}

fn conditions(l: Lang, r: &crate::approval::Rule) -> String {
    let mut c = Vec::new();
    if let Some(m) = r.min_amount {
        c.push(format!("≥ {m}"));
    }
    if let Some(m) = r.max_amount {
        c.push(format!("< {m}"));
    }
    if let Some(cur) = &r.currency {
        c.push(cur.clone());
    }
    for (name, list) in [
        (t(l, "suppliers", "fournisseurs"), &r.suppliers),
        (t(l, "cost centres", "centres de coût"), &r.cost_centres),
        (t(l, "accounts", "comptes"), &r.gl_accounts),
    ] {
        if !list.is_empty() {
            c.push(format!("{name}: {}", list.join(", ")));
        }
    }
    if let Some(po) = r.po_present {
        c.push(format!("PO: {po}"));
    }
    if let Some(below) = r.auto_approve_below {
        c.push(format!(
            "{} < {below}",
            t(l, "automatic approval", "approbation automatique")
        ));
    }
    if c.is_empty() {
        t(l, "every invoice", "toute facture").to_string()
    } else {
        c.join("; ")
    }
}

fn rules(l: Lang, settings: &Settings) -> Markup {
    let policies: Vec<(&str, &ApprovalPolicy)> = settings
        .loaded_pipelines
        .iter()
        .map(|p| (p.name.as_str(), &p.approval))
        .collect();
    html! {
        p { small { (t(l, "Read-only: the rules live in the pipeline files (pipelines/*.toml); the first rule that matches applies.",
                        "En lecture seule : les règles sont dans les fichiers de pipeline (pipelines/*.toml) ; la première qui correspond s'applique.")) } }
        div.scroll { table #rules {
            thead { tr {
                th { (t(l, "Pipeline", "Pipeline")) }
                th { (t(l, "Rule", "Règle")) }
                th { (t(l, "When", "Quand")) }
                th { (t(l, "Steps", "Étapes")) }
            } }
            tbody {
                @for (pipeline, policy) in &policies {
                    @for r in &policy.rules {
                        tr {
                            td { (pipeline) }
                            td { (r.name) }
                            td { (conditions(l, r)) }
                            td { ol { @for s in &r.steps { li { (step(s)) } } } }
                        }
                    }
                    @for d in &policy.delegations {
                        tr {
                            td { (pipeline) }
                            td { (t(l, "delegation", "délégation")) }
                            td { (d.start) " → " (d.end) }
                            td { (d.from) " → " (match &d.to {
                                crate::approval::policy::ApproverEntry::Email(e) => e.as_str(),
                                crate::approval::policy::ApproverEntry::Full { email, .. } => email.as_str(),
                            }) }
                        }
                    }
                }
            }
        } }
    }
}

fn role_select(l: Lang, id: &str, current: Option<Role>) -> Markup {
    html! {
        select id=(id) name="role" aria-label=(t(l, "Role", "Rôle")) {
            @for r in Role::ALL {
                option value=(r.as_str()) selected[current == Some(r)] { (r.as_str()) }
            }
        }
    }
}

fn users(l: Lang, who: &Session, users: &[User]) -> Markup {
    let csrf = who.csrf.as_str();
    html! {
        div.scroll { table #users {
            thead { tr {
                th { (t(l, "Email", "Adresse e-mail")) }
                th { (t(l, "Role", "Rôle")) }
                th { (t(l, "Second factor", "Second facteur")) }
                th { (t(l, "Standing", "État")) }
                th {}
            } }
            tbody {
                @for (i, u) in users.iter().enumerate() {
                    @let action = format!("/settings/users/{}", u.id);
                    tr {
                        td { (u.email) }
                        td {
                            form.inline method="post" action=(action) {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="hidden" name="op" value="role";
                                (role_select(l, &format!("role-{i}"), Some(u.role)))
                                " "
                                button type="submit" { (t(l, "Set", "Changer")) }
                            }
                        }
                        td {
                            @if u.totp.is_some() {
                                (t(l, "active", "actif")) " "
                                form.inline method="post" action=(action) {
                                    input type="hidden" name="csrf" value=(csrf);
                                    input type="hidden" name="op" value="remove-totp";
                                    button type="submit" { (t(l, "Remove", "Retirer")) }
                                }
                            } @else { "—" }
                        }
                        td { @if u.disabled { (t(l, "disabled", "désactivé")) } @else { (t(l, "active", "actif")) } }
                        td { @if u.email != who.user.email {
                            form.inline method="post" action=(action) {
                                input type="hidden" name="csrf" value=(csrf);
                                @if u.disabled {
                                    input type="hidden" name="op" value="enable";
                                    button type="submit" { (t(l, "Enable", "Réactiver")) }
                                } @else {
                                    input type="hidden" name="op" value="disable";
                                    button.reject type="submit" { (t(l, "Disable", "Désactiver")) }
                                }
                            }
                        } }
                    }
                }
            }
        } }
        h3 { (t(l, "Add a user", "Ajouter un utilisateur")) }
        form.narrow method="post" action="/settings/users" {
            input type="hidden" name="csrf" value=(csrf);
            label for="new-email" { (t(l, "Email", "Adresse e-mail")) }
            input #new-email type="email" name="email" required autocomplete="off";
            label for="new-role" { (t(l, "Role", "Rôle")) }
            p { (role_select(l, "new-role", Some(Role::Viewer))) }
            label for="new-password" { (t(l, "Initial password (12 characters or more; they change it on /account)",
                                          "Mot de passe initial (12 caractères ou plus ; à changer sur /account)")) }
            input #new-password type="password" name="password" required minlength="12" autocomplete="new-password";
            button type="submit" { (t(l, "Add", "Ajouter")) }
        }
    }
}

/// The whole page; `notice` is the outcome of the change just posted (ok, words).
pub fn render(
    l: Lang,
    who: &Session,
    settings: &Settings,
    health: &Health,
    all: &[User],
    notice: Option<(bool, String)>,
) -> String {
    let body = html! {
        @if let Some((ok, n)) = &notice {
            @if *ok { p.ok { (n) } } @else { p.err { (n) } }
        }
        h2 { (t(l, "Sources", "Sources")) }
        (sources(l, settings, health))
        h2 { (t(l, "Approval rules", "Règles d'approbation")) }
        (rules(l, settings))
        h2 { (t(l, "Users", "Utilisateurs")) }
        (users(l, who, all))
    };
    layout(l, t(l, "Settings", "Réglages"), Some(who), body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::policy::ApproverEntry;

    fn rule(toml_text: &str) -> crate::approval::Rule {
        toml::from_str(toml_text).expect("a rule")
    }

    #[test]
    fn a_rule_reads_as_its_conditions_and_steps() {
        let r = rule(
            r#"name = "big"
min_amount = "1000"
max_amount = "5000"
suppliers = ["ACME"]
steps = [ { approvers = ["a@example.test", { email = "b@example.test", lang = "fr" }], mode = "all", escalate_to = "c@example.test", escalate_days = 5 } ]
"#,
        );
        assert_eq!(conditions(Lang::En, &r), "≥ 1000; < 5000; suppliers: ACME");
        assert_eq!(
            conditions(Lang::Fr, &r),
            "≥ 1000; < 5000; fournisseurs: ACME"
        );
        assert_eq!(
            step(&r.steps[0]),
            "a@example.test, b@example.test (all); → c@example.test after 5 d"
        );
        let any = rule("name = \"default\"\nsteps = []\n");
        assert_eq!(conditions(Lang::Fr, &any), "toute facture");
        assert!(matches!(
            r.steps[0].approvers[1],
            ApproverEntry::Full { .. }
        ));
    }
}
