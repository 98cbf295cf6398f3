//! Shell completion: `completion bash|zsh|fish` scripts (clap_complete), and the
//! hidden `__complete` command behind `kubectl_complete-mosaic`, which kubectl
//! runs to complete `kubectl mosaic <TAB>`.

use clap::{Args, CommandFactory, ValueEnum};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::{Error, Outcome};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Args, Debug)]
#[command(
    after_help = "For `kubectl mosaic <TAB>`, put krew/kubectl_complete-mosaic on your PATH (kubectl 1.26+).\nFor the kubectl-mosaic binary itself:\n  source <(kubectl-mosaic completion bash)"
)]
pub struct CompletionArgs {
    /// The shell to print a completion script for.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

#[derive(Args, Debug)]
pub struct CompleteArgs {
    /// The words after `kubectl mosaic`, the last being the one to complete ("" for a new word).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub words: Vec<String>,
}

/// The completion script for a shell, for the `kubectl-mosaic` binary.
pub fn script(shell: CompletionShell) -> Vec<u8> {
    let shell = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "kubectl-mosaic", &mut out);
    out
}

pub fn run(args: CompletionArgs) -> Result<Outcome, Error> {
    use std::io::Write;
    std::io::stdout()
        .write_all(&script(args.shell))
        .map_err(|e| Error::Other(format!("cannot write the completion script: {e}")))?;
    Ok(Outcome::Success)
}

/// cobra's ShellCompDirectiveNoFileComp: kubectl must not fall back to file names.
const NO_FILE_COMP: &str = ":4";

/// Completion candidates (`value\tdescription` lines, then a `:N` directive) for the words typed so far.
pub fn candidates(words: &[String]) -> Vec<String> {
    let root = Cli::command();
    let (current, done) = match words.split_last() {
        Some((c, d)) => (c.as_str(), d),
        None => ("", &[][..]),
    };
    let mut cmd = &root;
    for w in done {
        if w.starts_with('-') {
            continue;
        }
        if let Some(sub) = cmd.find_subcommand(w) {
            cmd = sub;
        }
    }
    let mut out = vec![];
    // A value for the flag just typed.
    if let Some(prev) = done.last().filter(|p| p.starts_with('-')) {
        let flag = prev.trim_start_matches('-');
        let arg = cmd.get_arguments().chain(root.get_arguments()).find(|a| {
            a.get_long() == Some(flag) || a.get_short().is_some_and(|s| flag == s.to_string())
        });
        if let Some(a) = arg
            && a.get_action().takes_values()
        {
            for v in a.get_possible_values() {
                if v.get_name().starts_with(current) {
                    out.push(v.get_name().to_string());
                }
            }
            out.push(NO_FILE_COMP.into());
            return out;
        }
    }
    if current.starts_with('-') {
        for a in cmd
            .get_arguments()
            .chain(root.get_arguments().filter(|a| a.is_global_set()))
        {
            if a.is_hide_set() {
                continue;
            }
            if let Some(l) = a.get_long() {
                let flag = format!("--{l}");
                if flag.starts_with(current) {
                    let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
                    out.push(format!("{flag}\t{}", first_line(&help)));
                }
            }
        }
    } else {
        for s in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            if s.get_name().starts_with(current) {
                let about = s.get_about().map(|h| h.to_string()).unwrap_or_default();
                out.push(format!("{}\t{}", s.get_name(), first_line(&about)));
            }
        }
        for a in cmd.get_positionals() {
            for v in a.get_possible_values() {
                if v.get_name().starts_with(current) {
                    out.push(v.get_name().to_string());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out.push(NO_FILE_COMP.into());
    out
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("").trim_end_matches('.')
}

pub fn complete(args: CompleteArgs) -> Result<Outcome, Error> {
    for c in candidates(&args.words) {
        println!("{c}");
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scripts_for_every_shell_name_the_subcommands() {
        for (shell, marker) in [
            (CompletionShell::Bash, "complete -F"),
            (CompletionShell::Zsh, "#compdef kubectl-mosaic"),
            (CompletionShell::Fish, "complete -c kubectl-mosaic"),
        ] {
            let s = String::from_utf8(script(shell)).unwrap();
            assert!(s.contains(marker), "{shell:?}");
            assert!(
                s.contains("unbind") && s.contains("registry-secret"),
                "{shell:?}"
            );
        }
    }

    #[test]
    fn completes_subcommands_flags_and_values() {
        let c = candidates(&words(&[""]));
        assert!(c.iter().any(|l| l.starts_with("bind\t")), "{c:?}");
        assert!(!c.iter().any(|l| l.starts_with("__complete")), "{c:?}");
        assert_eq!(c.last().unwrap(), ":4");
        let c = candidates(&words(&["de"]));
        assert_eq!(
            c,
            vec![
                "deploy\tBuild and roll out a branch or commit now".to_string(),
                ":4".into()
            ]
        );
        let c = candidates(&words(&["bind", "--re"]));
        assert!(c.iter().any(|l| l.starts_with("--repo\t")), "{c:?}");
        assert!(
            c.iter().any(|l| l.starts_with("--registry-secret\t")),
            "{c:?}"
        );
        let c = candidates(&words(&["list", "-o", ""]));
        assert!(
            c.contains(&"json".to_string()) && c.contains(&"wide".to_string()),
            "{c:?}"
        );
        let c = candidates(&words(&["completion", "z"]));
        assert_eq!(c, vec!["zsh".to_string(), ":4".into()]);
        let c = candidates(&words(&["list", "--kubec"]));
        assert!(c.iter().any(|l| l.starts_with("--kubeconfig\t")), "{c:?}");
    }
}
