//! The pre-built challenge UI's pages, as HTML (every text escaped).

use auth_core::emulator::escape_html;

/// The page's heading: track's `custom.title`, else the UI's own.
pub(crate) fn title(custom: Option<&str>) -> String {
    custom
        .filter(|t| !t.trim().is_empty())
        .unwrap_or("Verify it's you")
        .to_owned()
}

/// What the user reads: track's `custom.message`, else the action it is about.
pub(crate) fn message(custom: Option<&str>, action: &str) -> String {
    match custom.filter(|m| !m.trim().is_empty()) {
        Some(m) => m.to_owned(),
        None => format!("Verify it's you to continue: {action}"),
    }
}

fn page(heading: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{h} · Authsignal (emulator)</title>\n\
         <style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}}\
         button{{font-size:1rem;padding:.5rem 1.25rem;margin-right:.5rem}}</style>\n\
         </head>\n<body>\n<h1>{h}</h1>\n{body}\n</body>\n</html>\n",
        h = escape_html(heading),
    )
}

/// The challenge: what it is about, and the user's two answers (forms posting back here).
pub(crate) fn challenge_page(title: &str, message: &str, user: &str, token: &str) -> String {
    let form = |decision: &str, label: &str| {
        format!(
            "<form method=\"post\" action=\"/ui/challenge\" style=\"display:inline\">\
             <input type=\"hidden\" name=\"token\" value=\"{}\">\
             <input type=\"hidden\" name=\"decision\" value=\"{decision}\">\
             <button type=\"submit\" id=\"{decision}\">{label}</button></form>",
            escape_html(token)
        )
    };
    page(
        title,
        &format!(
            "<p id=\"message\">{}</p>\n<p>Signed in as <strong id=\"user\">{}</strong>.</p>\n<p>{}{}</p>",
            escape_html(message),
            escape_html(user),
            form("approve", "Approve"),
            form("deny", "Deny"),
        ),
    )
}

/// After the answer, when the track gave no redirect URL (`already`: the page of a challenge
/// that was answered before).
pub(crate) fn finished_page(state: &str, already: bool) -> String {
    let text = match (state, already) {
        (_, true) => "This challenge is already finished.",
        ("CHALLENGE_SUCCEEDED", _) => "Verified. You can close this page.",
        ("CHALLENGE_FAILED", _) => "Not verified. You can close this page.",
        _ => "This challenge is finished.",
    };
    page(
        "Challenge finished",
        &format!(
            "<p id=\"result\" data-state=\"{}\">{}</p>",
            escape_html(state),
            text
        ),
    )
}

/// An unknown or expired token.
pub(crate) fn invalid_link() -> String {
    page(
        "Link expired",
        "<p id=\"result\">This challenge link is not valid: unknown or expired.</p>",
    )
}

/// A request the page cannot serve.
pub(crate) fn error_page(reason: &str) -> String {
    page(
        "Something went wrong",
        &format!("<p id=\"result\">{}</p>", escape_html(reason)),
    )
}

/// The seed era's self-service page (`get_user` with a redirect URL).
pub(crate) fn settings_page(user: &str, methods: &[String], back: Option<&str>) -> String {
    let items: String = methods
        .iter()
        .map(|m| format!("<li>{}</li>", escape_html(m)))
        .collect();
    let list = if items.is_empty() {
        "<p>No authenticators yet.</p>".to_owned()
    } else {
        format!("<ul id=\"authenticators\">{items}</ul>")
    };
    let back = back
        .filter(|b| b.starts_with("https://") || b.starts_with("http://"))
        .map(|b| format!("<p><a id=\"back\" href=\"{}\">Done</a></p>", escape_html(b)))
        .unwrap_or_default();
    page(
        "Your authenticators",
        &format!("<p>{}</p>\n{list}\n{back}", escape_html(user)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_escaped() {
        let p = challenge_page(
            "<b>Pay</b>",
            "Pay \"120\" & <script>alert(1)</script>",
            "o'hara",
            "tok\"en",
        );
        assert!(!p.contains("<script>") && !p.contains("<b>Pay"), "{p}");
        assert!(p.contains("&lt;script&gt;") && p.contains("o&#39;hara"));
        assert!(p.contains("value=\"tok&quot;en\""));
        let s = settings_page("u", &[], Some("javascript:alert(1)"));
        assert!(!s.contains("javascript:"), "{s}");
    }
}
