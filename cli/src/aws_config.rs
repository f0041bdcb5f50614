//! `osp configure-aws`: one profile of the AWS config file (`~/.aws/config`, or
//! `AWS_CONFIG_FILE`) written or updated so that the AWS CLI, boto3 and every SDK reading
//! that file get their credentials from `osp credentials` and talk to the deployment.
//!
//! Only the profile's own section changes, and in it only the keys written here
//! (`credential_process`, `endpoint_url`, `region` and the `s3` block); other keys,
//! other sections and comments stay as they were.

use std::path::Path;

use crate::error::CliError;

/// The keys this command owns in its section.
const OWNED: [&str; 4] = ["credential_process", "endpoint_url", "region", "s3"];

/// The section header of an AWS profile: `[default]`, else `[profile NAME]`.
pub fn section_name(profile: &str) -> String {
    if profile == "default" {
        "default".into()
    } else {
        format!("profile {profile}")
    }
}

/// The lines written into the section.
pub fn owned_lines(credential_process: &str, endpoint_url: &str, region: &str) -> Vec<String> {
    vec![
        format!("credential_process = {credential_process}"),
        format!("endpoint_url = {endpoint_url}"),
        format!("region = {region}"),
        // Path-style addressing (the bucket is the account, in the path), and SigV4 for
        // presigned URLs too (the AWS CLI v1 presigns with SigV2 otherwise).
        "s3 =".into(),
        "    addressing_style = path".into(),
        "    signature_version = s3v4".into(),
    ]
}

/// The command the AWS tools run: this executable, quoted when its path needs it
/// (botocore splits the line like a POSIX shell).
pub fn credential_process(exe: &Path, profile: &str) -> String {
    let exe = exe.to_string_lossy();
    let quoted = if exe.chars().any(|c| c.is_whitespace() || "\"'\\$`".contains(c)) {
        format!("\"{}\"", exe.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        exe.into_owned()
    };
    format!("{quoted} credentials --profile {profile} --format process")
}

/// `[ name ]` -> `name`, for a header line.
fn header(line: &str) -> Option<String> {
    let t = line.trim();
    let inner = t.strip_prefix('[')?.strip_suffix(']')?;
    Some(inner.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The key of a `key = value` line at the start of a line (not indented: indented lines
/// are the values of a nested block such as `s3 =`).
fn key_of(line: &str) -> Option<&str> {
    if line.starts_with(char::is_whitespace) {
        return None;
    }
    let (k, _) = line.split_once('=')?;
    Some(k.trim())
}

/// The config text with `section` holding `lines` in place of its owned keys.
pub fn update(text: &str, section: &str, lines: &[String]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut in_section = false;
    let mut found = false;
    let mut skipping_block = false;
    for line in text.lines() {
        if let Some(name) = header(line) {
            in_section = name == section;
            skipping_block = false;
            out.push(line.to_owned());
            if in_section && !found {
                found = true;
                out.extend(lines.iter().cloned());
            }
            continue;
        }
        if in_section {
            // The nested lines of an owned block (`s3 =` then indented `key = value`).
            if skipping_block {
                if line.starts_with(char::is_whitespace) && !line.trim().is_empty() {
                    continue;
                }
                skipping_block = false;
            }
            if let Some(key) = key_of(line) {
                if OWNED.contains(&key) {
                    skipping_block = true;
                    continue;
                }
            }
        }
        out.push(line.to_owned());
    }
    if !found {
        if out.last().is_some_and(|l| !l.trim().is_empty()) {
            out.push(String::new());
        }
        out.push(format!("[{section}]"));
        out.extend(lines.iter().cloned());
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// Reads, updates and writes the file (atomically, keeping its permissions; a new file
/// and a new `~/.aws` are private to the user).
pub fn write(path: &Path, section: &str, lines: &[String]) -> Result<(), CliError> {
    let old = match std::fs::read_to_string(path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(CliError::io(format!("reading {}", path.display()), e)),
    };
    let new = update(old.as_deref().unwrap_or(""), section, lines);
    let permissions = std::fs::metadata(path).ok().map(|m| m.permissions());
    crate::store::write_private(path, new.as_bytes())?;
    if let Some(p) = permissions {
        std::fs::set_permissions(path, p).map_err(|e| CliError::io(format!("writing {}", path.display()), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours() -> Vec<String> {
        owned_lines(
            "/usr/bin/osp credentials --profile p --format process",
            "https://data.example",
            "us-east-1",
        )
    }

    const OURS: &str = "credential_process = /usr/bin/osp credentials --profile p --format process\n\
endpoint_url = https://data.example\nregion = us-east-1\ns3 =\n    addressing_style = path\n    signature_version = s3v4\n";

    #[test]
    fn a_new_file_gets_the_section() {
        assert_eq!(update("", "profile p", &ours()), format!("[profile p]\n{OURS}"));
    }

    #[test]
    fn other_sections_keys_and_comments_stay() {
        let old = "# my settings\n[default]\nregion = eu-west-1\n\n[profile p]\n# keep me\noutput = json\nregion = eu-west-3\ns3 =\n  addressing_style = virtual\n  max_concurrent_requests = 5\ncli_pager =\n\n[profile other]\ncredential_process = other-tool\nregion = ap-south-1\n";
        let new = update(old, "profile p", &ours());
        assert_eq!(
            new,
            format!("# my settings\n[default]\nregion = eu-west-1\n\n[profile p]\n{OURS}# keep me\noutput = json\ncli_pager =\n\n[profile other]\ncredential_process = other-tool\nregion = ap-south-1\n")
        );
        // Running it again changes nothing.
        assert_eq!(update(&new, "profile p", &ours()), new);
    }

    #[test]
    fn the_default_profile_is_the_default_section_and_headers_may_have_spaces() {
        assert_eq!(section_name("default"), "default");
        assert_eq!(section_name("work"), "profile work");
        let old = "[ profile  work ]\nregion = x\n";
        assert_eq!(
            update(old, "profile work", &ours()),
            format!("[ profile  work ]\n{OURS}")
        );
        let appended = update("[default]\nregion = x", "profile q", &ours());
        assert_eq!(appended, format!("[default]\nregion = x\n\n[profile q]\n{OURS}"));
    }

    #[test]
    fn an_executable_path_with_spaces_is_quoted() {
        assert_eq!(
            credential_process(Path::new("/opt/my tools/osp"), "p"),
            "\"/opt/my tools/osp\" credentials --profile p --format process"
        );
        assert_eq!(
            credential_process(Path::new("/usr/bin/osp"), "work"),
            "/usr/bin/osp credentials --profile work --format process"
        );
    }

    #[test]
    fn the_file_keeps_its_permissions_and_a_new_one_is_private() {
        let dir = crate::testutil::TempDir::new();
        let path = dir.path().join("aws").join("config");
        write(&path, "profile p", &ours()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            write(&path, "profile q", &ours()).unwrap();
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("[profile p]") && text.contains("[profile q]"));
    }
}
