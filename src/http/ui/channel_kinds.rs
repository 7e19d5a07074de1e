//! The kinds of channel as the pages present them: what each is for, and the inputs of its
//! settings, named as the API names them. Only presentation: every rule on the values is the
//! API's, in `alert::channel`.

use crate::alert::channel::ChannelKind;

/// How a setting is typed in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Text,
    Url,
    /// A token or key: a password input, never filled by the page.
    Secret,
    /// A list, one item per line.
    Lines,
    /// HTTP headers, one `Name: value` per line; their values are secrets.
    Headers,
}

impl Input {
    pub fn multiline(self) -> bool {
        matches!(self, Input::Lines | Input::Headers)
    }

    pub fn html_type(self) -> &'static str {
        match self {
            Input::Url => "url",
            Input::Secret => "password",
            _ => "text",
        }
    }

    pub fn is_headers(self) -> bool {
        self == Input::Headers
    }

    /// Whether what was typed goes back into the form when it is shown again with an error.
    pub fn echoed(self) -> bool {
        !matches!(self, Input::Secret | Input::Headers)
    }
}

/// One setting of a kind, named as in the API's `settings`.
pub struct Setting {
    pub name: &'static str,
    pub label: &'static str,
    pub input: Input,
    pub required: bool,
    pub help: &'static str,
    pub placeholder: &'static str,
    /// Where the channel's secrets are sent: pointing it elsewhere takes them anew.
    pub destination: bool,
}

/// A kind of channel as the pages present it.
pub struct Kind {
    pub kind: ChannelKind,
    /// What it does, in a line.
    pub summary: &'static str,
    pub settings: &'static [Setting],
}

impl Kind {
    pub fn slug(&self) -> &'static str {
        self.kind.as_str()
    }

    pub fn title(&self) -> &'static str {
        self.kind.title()
    }
}

const fn setting(name: &'static str, label: &'static str, input: Input) -> Setting {
    Setting {
        name,
        label,
        input,
        required: true,
        help: "",
        placeholder: "",
        destination: false,
    }
}

const EMAIL: [Setting; 1] = [Setting {
    help: "One address per line, up to 20. Each gets a message of its own.",
    placeholder: "ops@example.com",
    ..setting("addresses", "Addresses", Input::Lines)
}];

const WEBHOOK: [Setting; 3] = [
    Setting {
        help: "upbeat POSTs its JSON payload here. A redirect is not followed: give the final address.",
        placeholder: "https://example.com/hooks/upbeat",
        destination: true,
        ..setting("url", "URL", Input::Url)
    },
    Setting {
        required: false,
        help: "Sent with every request, one per line, as Name: value (e.g. Authorization: Bearer …).",
        ..setting("headers", "Headers", Input::Headers)
    },
    Setting {
        required: false,
        help: "Signs each body with HMAC-SHA256 in the X-Upbeat-Signature-256 header.",
        ..setting("secret", "Signing secret", Input::Secret)
    },
];

const SLACK: [Setting; 1] = [Setting {
    help: "An incoming webhook of your Slack app.",
    placeholder: "https://hooks.slack.com/services/…",
    ..setting("webhook_url", "Webhook URL", Input::Url)
}];

const DISCORD: [Setting; 1] = [Setting {
    help: "From the channel's settings: Integrations, Webhooks.",
    placeholder: "https://discord.com/api/webhooks/…",
    ..setting("webhook_url", "Webhook URL", Input::Url)
}];

const TEAMS: [Setting; 1] = [Setting {
    help: "The URL of a Workflows flow \"When a Teams webhook request is received\".",
    ..setting("webhook_url", "Webhook URL", Input::Url)
}];

const TELEGRAM: [Setting; 2] = [
    Setting {
        help: "From @BotFather, like 123456:ABC-DEF…",
        ..setting("bot_token", "Bot token", Input::Secret)
    },
    Setting {
        help: "The chat's id (a number, negative for a group) or @channelname.",
        placeholder: "@my_alerts",
        ..setting("chat_id", "Chat", Input::Text)
    },
];

const NTFY: [Setting; 3] = [
    Setting {
        required: false,
        help: "ntfy.sh, or the address of your own server.",
        destination: true,
        ..setting("server", "Server", Input::Url)
    },
    Setting {
        help: "Up to 64 letters, digits, - and _. On ntfy.sh anyone who knows the topic can read it: choose one hard to guess.",
        ..setting("topic", "Topic", Input::Text)
    },
    Setting {
        required: false,
        help: "For a protected topic: an access token (tk_…).",
        ..setting("token", "Access token", Input::Secret)
    },
];

const PAGERDUTY: [Setting; 1] = [Setting {
    help: "The integration key of an Events API v2 integration of your service.",
    ..setting("routing_key", "Integration key", Input::Secret)
}];

/// Every kind, in the order the pages offer them.
pub const KINDS: [Kind; 8] = [
    Kind {
        kind: ChannelKind::Email,
        summary: "A message to one or more addresses.",
        settings: &EMAIL,
    },
    Kind {
        kind: ChannelKind::Webhook,
        summary: "A JSON POST to an address of yours, signed if you like.",
        settings: &WEBHOOK,
    },
    Kind {
        kind: ChannelKind::Slack,
        summary: "A message in a Slack channel.",
        settings: &SLACK,
    },
    Kind {
        kind: ChannelKind::Discord,
        summary: "A message in a Discord channel.",
        settings: &DISCORD,
    },
    Kind {
        kind: ChannelKind::Teams,
        summary: "A card in a Microsoft Teams channel.",
        settings: &TEAMS,
    },
    Kind {
        kind: ChannelKind::Telegram,
        summary: "A message from your bot to a chat, group or channel.",
        settings: &TELEGRAM,
    },
    Kind {
        kind: ChannelKind::Ntfy,
        summary: "A push notification to your phone, through ntfy.sh or your own server.",
        settings: &NTFY,
    },
    Kind {
        kind: ChannelKind::PagerDuty,
        summary: "An incident that opens when a monitor goes down and resolves when it is back.",
        settings: &PAGERDUTY,
    },
];

/// How the pages present `k`.
pub fn kind_of(k: ChannelKind) -> &'static Kind {
    KINDS.iter().find(|x| x.kind == k).unwrap_or(&KINDS[0])
}
