//! What the server serves and how: flags, a JSON config file, or code.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::str::FromStr;

use serde::Deserialize;
use serde_json::Value;

/// The default first port: the control API; the providers follow in [`Provider::ALL`] order.
pub const DEFAULT_BASE_PORT: u16 = 4700;

/// A provider the server speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// LaunchKey (iovation) Service API.
    Launchkey,
    /// Authsignal Server API.
    Authsignal,
    /// Airlock IAM Loginapp REST API.
    AirlockIam,
    /// LogonBox Authenticator API.
    Logonbox,
    /// Onegini Token Server (the `onegini-model` crate).
    OneginiModel,
    /// An OpenID Connect CIBA OpenID Provider (the `ciba` crate).
    Ciba,
}

impl Provider {
    /// Every provider, in port order (the control API is the base port, these follow it).
    pub const ALL: [Provider; 6] = [
        Provider::Launchkey,
        Provider::Authsignal,
        Provider::AirlockIam,
        Provider::Logonbox,
        Provider::OneginiModel,
        Provider::Ciba,
    ];

    /// The provider's name in URLs, flags and JSON (the crate's name).
    pub fn name(self) -> &'static str {
        match self {
            Provider::Launchkey => "launchkey",
            Provider::Authsignal => "authsignal",
            Provider::AirlockIam => "airlock-iam",
            Provider::Logonbox => "logonbox",
            Provider::OneginiModel => "onegini-model",
            Provider::Ciba => "ciba",
        }
    }

    /// Its port relative to the base port.
    pub fn port_offset(self) -> u16 {
        match self {
            Provider::Launchkey => 1,
            Provider::Authsignal => 2,
            Provider::AirlockIam => 3,
            Provider::Logonbox => 4,
            Provider::OneginiModel => 5,
            Provider::Ciba => 6,
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Provider {
    type Err = UsageError;

    fn from_str(s: &str) -> Result<Self, UsageError> {
        Provider::ALL
            .into_iter()
            .find(|p| p.name() == s || (s == "onegini" && *p == Provider::OneginiModel))
            .ok_or_else(|| {
                UsageError(format!(
                    "unknown provider `{s}` (one of: {})",
                    Provider::ALL.map(Provider::name).join(", ")
                ))
            })
    }
}

impl<'de> Deserialize<'de> for Provider {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A user to create at start, with provider-specific details (see the crate docs per provider).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UserSeed {
    /// The user's id at the provider.
    pub user: String,
    /// Provider-specific details (`Control::AddUser`'s `details`).
    pub details: Value,
}

impl UserSeed {
    /// A user with no details.
    pub fn new(user: impl Into<String>) -> Self {
        UserSeed {
            user: user.into(),
            details: Value::Null,
        }
    }
}

impl<'de> Deserialize<'de> for UserSeed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Name(String),
            Full {
                user: String,
                #[serde(default)]
                details: Value,
            },
        }
        Ok(match Form::deserialize(d)? {
            Form::Name(user) => UserSeed::new(user),
            Form::Full { user, details } => UserSeed { user, details },
        })
    }
}

/// One provider's part of the configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ProviderOptions {
    /// Its port (default: base port + its offset; 0 = a free port).
    #[serde(default)]
    pub port: Option<u16>,
    /// Users to create at start (beyond [`Options::users`]).
    #[serde(default)]
    pub users: Vec<UserSeed>,
    /// Rules to set at start (`Control::SetRules`; Authsignal).
    #[serde(default)]
    pub rules: Option<Value>,
    /// Provider-specific settings (keys, secrets, ids; see the crate docs).
    #[serde(default)]
    pub settings: Value,
}

/// Everything the server needs to start. [`Options::default`] serves every provider on
/// loopback from port [`DEFAULT_BASE_PORT`], plain HTTP.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Options {
    /// The address every port binds to.
    pub bind: IpAddr,
    /// The control API's port; provider `p` gets `base_port + p.port_offset()`. 0: free ports.
    pub base_port: u16,
    /// The control API's own port, if not the base port.
    pub control_port: Option<u16>,
    /// HTTPS everywhere, with a self-signed certificate written to [`Options::dir`].
    pub tls: bool,
    /// Where the certificate and generated keys go (default: a directory under the system's
    /// temporary directory, named after the control port).
    pub dir: Option<PathBuf>,
    /// How many requests each provider's log keeps (a ring).
    pub log_capacity: usize,
    /// Users created at every provider.
    pub users: Vec<String>,
    /// Only these providers (all when empty).
    pub only: Vec<Provider>,
    /// Per-provider options.
    pub providers: BTreeMap<Provider, ProviderOptions>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            base_port: DEFAULT_BASE_PORT,
            control_port: None,
            tls: false,
            dir: None,
            log_capacity: auth_core::emulator::DEFAULT_LOG_CAPACITY,
            users: Vec::new(),
            only: Vec::new(),
            providers: BTreeMap::new(),
        }
    }
}

impl Options {
    /// Free ports for everything (for tests: read the URLs from the started server).
    pub fn ephemeral() -> Self {
        Options {
            base_port: 0,
            ..Options::default()
        }
    }

    /// Whether `provider` is served.
    pub fn serves(&self, provider: Provider) -> bool {
        self.only.is_empty() || self.only.contains(&provider)
    }

    /// The port `provider` binds (0: a free one).
    pub fn port_of(&self, provider: Provider) -> u16 {
        if let Some(port) = self.providers.get(&provider).and_then(|p| p.port) {
            return port;
        }
        if self.base_port == 0 {
            0
        } else {
            self.base_port.saturating_add(provider.port_offset())
        }
    }

    /// The control API's port (0: a free one).
    pub fn control_port(&self) -> u16 {
        self.control_port.unwrap_or(self.base_port)
    }

    /// Options for `provider` (created empty when absent).
    pub fn provider_mut(&mut self, provider: Provider) -> &mut ProviderOptions {
        self.providers.entry(provider).or_default()
    }

    /// Reads a JSON config file (see the crate docs) on top of these options.
    pub fn merge_config_file(&mut self, path: &std::path::Path) -> Result<(), UsageError> {
        let bytes = std::fs::read(path)
            .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
        let file: ConfigFile = auth_core::json::from_slice("the config file", &bytes)
            .map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
        self.merge(file);
        Ok(())
    }

    fn merge(&mut self, file: ConfigFile) {
        if let Some(bind) = file.bind {
            self.bind = bind;
        }
        if let Some(p) = file.base_port {
            self.base_port = p;
        }
        if file.control_port.is_some() {
            self.control_port = file.control_port;
        }
        if let Some(tls) = file.tls {
            self.tls = tls;
        }
        if file.dir.is_some() {
            self.dir = file.dir;
        }
        if let Some(n) = file.log_capacity {
            self.log_capacity = n;
        }
        self.users.extend(file.users);
        if !file.only.is_empty() {
            self.only = file.only;
        }
        for (provider, options) in file.providers {
            let mine = self.provider_mut(provider);
            if options.port.is_some() {
                mine.port = options.port;
            }
            mine.users.extend(options.users);
            if options.rules.is_some() {
                mine.rules = options.rules;
            }
            if !options.settings.is_null() {
                mine.settings = options.settings;
            }
        }
    }
}

/// The config file's shape (every field optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    bind: Option<IpAddr>,
    #[serde(default)]
    base_port: Option<u16>,
    #[serde(default)]
    control_port: Option<u16>,
    #[serde(default)]
    tls: Option<bool>,
    #[serde(default)]
    dir: Option<PathBuf>,
    #[serde(default)]
    log_capacity: Option<usize>,
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    only: Vec<Provider>,
    #[serde(default)]
    providers: BTreeMap<Provider, ProviderOptions>,
}

/// Bad flags or a bad config file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub(crate) String);

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Command {
    /// Serve.
    Run {
        /// The options.
        options: Box<Options>,
        /// Print one JSON line (for programs) instead of the summary.
        print_json: bool,
    },
    /// Print the usage.
    Help,
    /// Print the version.
    Version,
}

/// The usage text of the `oob-auth-emulator` binary.
pub const USAGE: &str = "\
oob-auth-emulator: every oob-auth provider's API on loopback, for tests in any language

usage: oob-auth-emulator [options]

  --bind ADDR            address to listen on (default 127.0.0.1)
  --base-port N          control API on N, providers on N+1.. (default 4700; 0 = free ports)
                           launchkey N+1, authsignal N+2, airlock-iam N+3, logonbox N+4,
                           onegini-model N+5, ciba N+6
  --port NAME=N          one port: NAME is a provider or `control` (repeatable)
  --only NAME[,NAME..]   serve only these providers
  --tls                  HTTPS on every port, with a self-signed certificate written to --dir
  --dir DIR              where the certificate and generated keys go
                           (default: <temp dir>/oob-auth-emulator-<control port>)
  --config FILE          a JSON config file (see the crate docs); flags win over it
  --log-capacity N       requests kept per provider in the request log (default 1000)
  --user NAME            a user at every provider (repeatable)
  --setting NAME.KEY=V   one provider setting, as in the config file's `settings` (repeatable),
                           e.g. authsignal.webhook_url=http://127.0.0.1:9000/hooks or
                           ciba.delivery_mode=ping
  --print-json           print one JSON line with every URL, id, key and secret, then serve
  -h, --help             this text
  -V, --version          the version

Control API and the user's phone page: http://<bind>:<base port>/ (see the crate docs).
";

impl Command {
    /// Parses the command line (without the program name).
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, UsageError> {
        let mut options = Options::default();
        let mut print_json = false;
        let mut config: Option<PathBuf> = None;
        // Flags are applied after the config file, so they win.
        let mut later: Vec<(String, String)> = Vec::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
                _ => (arg.clone(), None),
            };
            let mut value = |name: &str| -> Result<String, UsageError> {
                match inline.clone().or_else(|| args.next()) {
                    Some(v) => Ok(v),
                    None => Err(UsageError(format!("{name} needs a value"))),
                }
            };
            match flag.as_str() {
                "-h" | "--help" => return Ok(Command::Help),
                "-V" | "--version" => return Ok(Command::Version),
                "--tls" => later.push((flag, String::new())),
                "--print-json" => print_json = true,
                "--config" => config = Some(PathBuf::from(value("--config")?)),
                "--bind" | "--base-port" | "--port" | "--only" | "--dir" | "--log-capacity"
                | "--user" | "--setting" => {
                    let v = value(&flag)?;
                    later.push((flag, v));
                }
                other => {
                    return Err(UsageError(format!(
                        "unknown argument `{other}` (see --help)"
                    )));
                }
            }
        }
        if let Some(path) = config {
            options.merge_config_file(&path)?;
        }
        for (flag, v) in later {
            apply_flag(&mut options, &flag, &v)?;
        }
        Ok(Command::Run {
            options: Box::new(options),
            print_json,
        })
    }
}

fn apply_flag(options: &mut Options, flag: &str, v: &str) -> Result<(), UsageError> {
    let number = |v: &str| -> Result<u64, UsageError> {
        v.parse()
            .map_err(|_| UsageError(format!("{flag}: `{v}` is not a number")))
    };
    let port = |v: &str| -> Result<u16, UsageError> {
        u16::try_from(number(v)?).map_err(|_| UsageError(format!("{flag}: `{v}` is not a port")))
    };
    match flag {
        "--tls" => options.tls = true,
        "--bind" => {
            options.bind = v
                .parse()
                .map_err(|_| UsageError(format!("--bind: `{v}` is not an IP address")))?;
        }
        "--base-port" => options.base_port = port(v)?,
        "--port" => {
            let (name, n) = v
                .split_once('=')
                .ok_or_else(|| UsageError(format!("--port takes NAME=N, not `{v}`")))?;
            let n = port(n)?;
            if name == "control" {
                options.control_port = Some(n);
            } else {
                options.provider_mut(name.parse()?).port = Some(n);
            }
        }
        "--only" => {
            options.only = v
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::parse)
                .collect::<Result<_, _>>()?;
        }
        "--dir" => options.dir = Some(PathBuf::from(v)),
        "--log-capacity" => {
            options.log_capacity = usize::try_from(number(v)?)
                .map_err(|_| UsageError(format!("--log-capacity: `{v}` is too large")))?;
        }
        "--user" => options.users.push(v.to_owned()),
        "--setting" => {
            let (name, value) = v
                .split_once('=')
                .ok_or_else(|| UsageError(format!("--setting takes NAME.KEY=VALUE, not `{v}`")))?;
            let (provider, key) = name
                .split_once('.')
                .filter(|(_, key)| !key.is_empty())
                .ok_or_else(|| UsageError(format!("--setting takes NAME.KEY=VALUE, not `{v}`")))?;
            let settings = &mut options.provider_mut(provider.parse()?).settings;
            if settings.is_null() {
                *settings = Value::Object(serde_json::Map::new());
            }
            let Some(settings) = settings.as_object_mut() else {
                return Err(UsageError(format!(
                    "--setting {name}: the config file's `settings` for {provider} is not an object"
                )));
            };
            settings.insert(key.to_owned(), Value::String(value.to_owned()));
        }
        _ => return Err(UsageError(format!("unknown argument `{flag}`"))),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, UsageError> {
        Command::parse(args.iter().map(|s| (*s).to_owned()))
    }

    fn run(args: &[&str]) -> (Options, bool) {
        match parse(args) {
            Ok(Command::Run {
                options,
                print_json,
            }) => (*options, print_json),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_serve_everything_on_loopback_from_4700() {
        let (o, json) = run(&[]);
        assert!(!json);
        assert_eq!(o.bind.to_string(), "127.0.0.1");
        assert_eq!(o.control_port(), 4700);
        assert_eq!(o.port_of(Provider::Launchkey), 4701);
        assert_eq!(o.port_of(Provider::OneginiModel), 4705);
        assert_eq!(o.port_of(Provider::Ciba), 4706);
        assert!(Provider::ALL.iter().all(|p| o.serves(*p)));
    }

    #[test]
    fn flags_set_ports_users_tls_and_a_subset() {
        let (o, json) = run(&[
            "--base-port=0",
            "--port",
            "authsignal=9000",
            "--port=control=9100",
            "--only",
            "authsignal,launchkey",
            "--tls",
            "--user",
            "alice",
            "--user=bob",
            "--log-capacity",
            "7",
            "--print-json",
        ]);
        assert!(json && o.tls);
        assert_eq!(o.port_of(Provider::Launchkey), 0);
        assert_eq!(o.port_of(Provider::Authsignal), 9000);
        assert_eq!(o.control_port(), 9100);
        assert!(o.serves(Provider::Launchkey) && !o.serves(Provider::Logonbox));
        assert_eq!(o.users, ["alice", "bob"]);
        assert_eq!(o.log_capacity, 7);
    }

    #[test]
    fn bad_flags_are_usage_errors_not_panics() {
        for args in [
            &["--base-port", "70000"][..],
            &["--base-port"],
            &["--port", "nobody=3"],
            &["--port", "3"],
            &["--only", "launchkey,okta"],
            &["--bind", "localhost"],
            &["--setting", "ciba.interval"],
            &["--setting", "ciba=1"],
            &["--setting", "ciba.=1"],
            &["--setting", "okta.interval=1"],
            &["--frobnicate"],
            &["--config", "/nonexistent/oob.json"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
        assert_eq!(parse(&["-h"]), Ok(Command::Help));
    }

    #[test]
    fn ciba_is_served_and_moves_with_the_base_port() {
        let (o, _) = run(&["--base-port", "5000", "--only", "ciba"]);
        assert_eq!(o.port_of(Provider::Ciba), 5006);
        assert!(o.serves(Provider::Ciba) && !o.serves(Provider::Authsignal));
        assert_eq!("ciba".parse::<Provider>(), Ok(Provider::Ciba));
        assert!(USAGE.contains("ciba N+6"));
    }

    #[test]
    fn settings_come_from_flags_on_top_of_the_config_file() {
        let dir = std::env::temp_dir().join(format!("oob-emu-set-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.json");
        std::fs::write(
            &path,
            r#"{"providers": {"ciba": {"settings": {"interval": 1, "client_id": "from-file"}}}}"#,
        )
        .unwrap();
        let (o, _) = run(&[
            "--setting",
            "ciba.client_id=bank",
            "--config",
            path.to_str().unwrap(),
            "--setting=authsignal.webhook_url=http://127.0.0.1:9/hooks?a=b",
        ]);
        let ciba = &o.providers[&Provider::Ciba].settings;
        assert_eq!(ciba["client_id"], "bank", "the flag wins");
        assert_eq!(ciba["interval"], 1, "the file's other settings stay");
        assert_eq!(
            o.providers[&Provider::Authsignal].settings["webhook_url"],
            "http://127.0.0.1:9/hooks?a=b"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_config_file_is_read_and_flags_win() {
        let dir = std::env::temp_dir().join(format!("oob-emu-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.json");
        std::fs::write(
            &path,
            r#"{"base_port": 5000, "tls": true, "users": ["carol"],
                "providers": {"authsignal": {"port": 5555, "users": ["dave", {"user": "erin", "details": {"email": "e@x.test"}}],
                                             "rules": [{"id": "r"}], "settings": {"secret_key": "s"}}}}"#,
        )
        .unwrap();
        let (o, _) = run(&["--config", path.to_str().unwrap(), "--base-port", "6000"]);
        assert_eq!(o.base_port, 6000);
        assert!(o.tls);
        assert_eq!(o.users, ["carol"]);
        let a = &o.providers[&Provider::Authsignal];
        assert_eq!(o.port_of(Provider::Authsignal), 5555);
        assert_eq!(a.users[1].details["email"], "e@x.test");
        assert_eq!(a.settings["secret_key"], "s");
        std::fs::write(&path, r#"{"base_prot": 1}"#).unwrap();
        let err = parse(&["--config", path.to_str().unwrap()]).unwrap_err();
        assert!(err.to_string().contains("base_prot"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
