/** Slack clicks as Slack sends them (signed `block_actions` payloads); shared with `npm start`'s Slack inbox. */
export * from '../../src/dev/slack-clicks';
