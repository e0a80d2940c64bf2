//! Reading values out of Taskr's and the sandbox's HTML forms, as a browser would submit them.
//! Shared by the tests (through `helpers`) and the benchmarks, which include this file.

/// The value of the first `name="field" value="…"` in a page.
pub fn form_value(html: &str, field: &str) -> Option<String> {
    let marker = format!("name=\"{field}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&#x2f;", "/")
            .replace("&amp;", "&"),
    )
}

/// The value of the `<option … selected>` on a page.
pub fn selected_option(html: &str) -> Option<String> {
    let end = html.find("\" selected")?;
    let start = html[..end].rfind("value=\"")? + "value=\"".len();
    Some(html[start..end].to_owned())
}
