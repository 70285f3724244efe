//! Every English text of the console, in one place, so that a translation can follow.

pub const PRODUCT: &str = "Strongroom";
pub const SKIP_TO_CONTENT: &str = "Skip to content";

// Navigation.
pub const NAV_CENTRE: &str = "My privacy centre";
pub const NAV_VIEWS: &str = "Who viewed my data";
pub const NAV_LOGINS: &str = "My logins";
pub const NAV_SECURITY: &str = "Password and second factor";
pub const NAV_APPS: &str = "Connected apps";
pub const NAV_ADMIN: &str = "Administration";
pub const NAV_USERS: &str = "Users";
pub const NAV_POLICIES: &str = "Policies";
pub const NAV_PRIVACY_LOG: &str = "Privacy log";
pub const NAV_SUPPORT: &str = "Support access";
pub const SIGN_OUT: &str = "Sign out";
pub const SIGNED_IN_AS: &str = "Signed in as";

// Sign-in.
pub const SIGN_IN_TITLE: &str = "Sign in";
pub const TENANT: &str = "Organisation (tenant)";
pub const EMAIL: &str = "E-mail address";
pub const PASSWORD: &str = "Password";
pub const TOTP: &str = "Second-factor code (if you have one)";
pub const TOTP_HINT: &str =
    "The six digits your authenticator app shows, or one of your recovery codes.";
pub const SIGN_IN: &str = "Sign in";
pub const FORGOT_LINK: &str = "Forgot your password?";
pub const WRONG_CREDENTIALS: &str = "The e-mail address or the password is wrong.";
pub const BLOCKED: &str = "This account is blocked after too many wrong passwords: its password no longer works, not even the right one. To reopen it, choose a new password with \u{201c}Forgot your password?\u{201d}.";
pub const TOTP_NEEDED: &str = "This account has a second factor: enter the code from your authenticator app, with your password again.";
pub const THROTTLED: &str = "Too many attempts from your address. Wait a minute, then try again.";

// Password reset.
pub const FORGOT_TITLE: &str = "Forgot your password";
pub const FORGOT_SEND: &str = "Send me a reset link";
pub const FORGOT_SENT: &str = "If the address belongs to an account, a mail with a reset link is on its way. The link works once, for 30 minutes.";
pub const RESET_TITLE: &str = "Choose a new password";
pub const RESET_TOKEN: &str = "Reset code from the mail";
pub const RESET_DONE: &str =
    "Your password is changed and the account is open again. Sign in with the new password.";

// Privacy centre.
pub const CENTRE_TITLE: &str = "My privacy centre";
pub const PROFILE: &str = "My profile";
pub const NAME: &str = "Name";
pub const ROLES: &str = "Roles";
pub const GROUPS: &str = "Groups";
pub const NO_GROUPS: &str = "You belong to no group.";
pub const MY_DATA: &str = "My data";
pub const DOWNLOAD_EXPORT: &str = "Download everything about me (zip)";
pub const EXPORT_HINT: &str =
    "Your profile, logins, records and files, the changes you made, and who viewed your data.";
pub const NOTICES: &str = "Scheduled deletions of my data";
pub const NO_NOTICES: &str = "No deletion of your data is scheduled.";
pub const NOTICE_WHAT: &str = "What";
pub const NOTICE_DUE: &str = "Deleted on";
pub const NOTICE_STATE: &str = "State";
pub const KEEP: &str = "Keep my data";
pub const KEPT: &str = "Kept";
pub const DONE: &str = "Deleted";
pub const SCHEDULED: &str = "Scheduled";
pub const KEPT_MESSAGE: &str = "Your data will be kept: the deletion is cancelled.";
pub const FORGET_TITLE: &str = "Forget me";
pub const FORGET_EXPLAIN: &str = "Your data key is destroyed, so everything sealed under it becomes unreadable at once; your files are deleted, and every history shows \u{201c}Deleted GDPR\u{201d} instead of your name. This cannot be undone.";
pub const FORGET_CONFIRM_LABEL: &str = "Type FORGET ME to confirm";
pub const FORGET_CONFIRM_WORD: &str = "FORGET ME";
pub const FORGET_BUTTON: &str = "Forget me now";
pub const FORGET_MISTYPED: &str = "Type FORGET ME exactly to confirm.";
pub const FORGOTTEN: &str =
    "You are forgotten. Your data key is destroyed and your sessions have ended.";

// Privacy log, logins.
pub const VIEWS_TITLE: &str = "Who viewed my data";
pub const VIEWS_EXPLAIN: &str = "Every reading or change of your personal data, newest first.";
pub const AT: &str = "When";
pub const ACTOR: &str = "Who";
pub const VIA: &str = "In the role of";
pub const OBJECT: &str = "What";
pub const ACTION: &str = "Did";
pub const FIELDS: &str = "Fields";
pub const DECISION: &str = "Decision";
pub const SUBJECT: &str = "About";
pub const NEXT_PAGE: &str = "Older entries";
pub const NOTHING_YET: &str = "Nothing yet.";
pub const LOGINS_TITLE: &str = "My logins";
pub const ADDRESS: &str = "Address";
pub const OUTCOME: &str = "Outcome";

// Security.
pub const SECURITY_TITLE: &str = "Password and second factor";
pub const CURRENT_PASSWORD: &str = "Current password";
pub const NEW_PASSWORD: &str = "New password";
pub const NEW_PASSWORD_HINT: &str = "8 to 128 characters, not a common password.";
pub const CHANGE_PASSWORD: &str = "Change password";
pub const PASSWORD_CHANGED: &str = "Your password is changed; your other sessions have ended.";
pub const FIRST_PASSWORD: &str =
    "Your account still has the password it was created with. Choose your own before you go on.";
pub const TOTP_TITLE: &str = "Second factor";
pub const TOTP_ACTIVE: &str = "A second factor is active on your account.";
pub const TOTP_NONE: &str = "Your account has no second factor.";
pub const TOTP_REQUIRED: &str =
    "Your organisation requires a second factor for your role: enrol one before you go on.";
pub const TOTP_START: &str = "Set up an authenticator app";
pub const TOTP_SCAN: &str = "Scan this code with your authenticator app, or type the secret below into it, then enter the code it shows.";
pub const TOTP_SECRET: &str = "Secret";
pub const TOTP_CODE: &str = "Code from the app";
pub const TOTP_CONFIRM: &str = "Confirm";
pub const TOTP_RECOVERY: &str = "Your recovery codes. Each works once instead of a code, if you lose the app. Keep them somewhere safe: they are shown only now.";
pub const TOTP_REMOVE: &str = "Remove the second factor";
pub const TOTP_REMOVED: &str = "The second factor is removed.";
pub const QR_LABEL: &str = "QR code of the authenticator secret";

// Errors.
pub const ERROR_TITLE: &str = "Something went wrong";
pub const FORBIDDEN_TITLE: &str = "Refused";
pub const NOT_FOUND_TITLE: &str = "Not found";
pub const CSRF_FAILED: &str = "This form has expired or did not come from this site. Go back, reload the page and send it again.";
pub const CROSS_SITE: &str = "A form from another site cannot act on your account.";
pub const NOT_A_FORM: &str = "This address takes a form submitted from its page.";
pub const FORM_INVALID: &str = "The form is incomplete or malformed: ";
pub const FORM_TOO_LARGE: &str = "The form is too large.";
pub const INTERNAL: &str = "The server could not do this. Nothing was changed; try again later.";
pub const BACK: &str = "Back to my privacy centre";

// Administration.
pub const ADMIN_TITLE: &str = "Administration";
pub const ADMIN_EXPLAIN: &str = "The pages your roles allow. Every action here is decided by the tenant's policies and written to the privacy log, exactly as through the API.";
pub const USERS_TITLE: &str = "Users";
pub const SEARCH_EMAIL: &str = "Find by e-mail address";
pub const SEARCH: &str = "Find";
pub const NO_SUCH_USER: &str = "No user has this address.";
pub const STATUS: &str = "Status";
pub const OLDER_USERS: &str = "More users";
pub const CREATE_USER: &str = "Create a user";
pub const CREATE: &str = "Create";
pub const LICENCE: &str = "Licence until (optional, YYYY-MM-DD)";
pub const CREATED_USER: &str = "The user is created. Their one-time password is shown only now: give it to them safely; they choose their own at the first sign-in.";
pub const ONE_TIME_PASSWORD: &str = "One-time password";
pub const USER_TITLE: &str = "User";
pub const SAVE_ROLES: &str = "Save roles";
pub const ROLES_SAVED: &str = "The roles are saved.";
pub const RESET_FACTOR: &str = "Reset their second factor";
pub const FACTOR_RESET: &str = "Their second factor is removed; they were told by mail.";
pub const FORGET_USER: &str = "Forget this user";
pub const FORGET_USER_CONFIRM: &str = "I understand this destroys their data for good";
pub const FORGET_USER_DONE: &str = "The user is forgotten.";
pub const CONFIRM_MISSING: &str = "Tick the confirmation first.";
pub const POLICIES_TITLE: &str = "Access policies";
pub const POLICIES_EXPLAIN: &str = "Cedar policies of this tenant. They are validated against the schema before they are saved; nothing invalid is stored.";
pub const POLICY_TEXT: &str = "Policies (Cedar)";
pub const SAVE_POLICIES: &str = "Validate and save";
pub const POLICIES_SAVED: &str = "The policies are valid and saved.";
pub const POLICIES_REFUSED: &str = "The policies were not saved:";
pub const TEMPLATE: &str = "Based on template";
pub const VERSION: &str = "Version";
pub const LOG_TITLE: &str = "Privacy log";
pub const FILTER: &str = "Filter";
pub const SUBJECT_ID: &str = "About (user id)";
pub const ACTOR_ID: &str = "By (user id)";
pub const FROM: &str = "From (UTC, YYYY-MM-DDTHH:MM)";
pub const TO: &str = "To (UTC, YYYY-MM-DDTHH:MM)";
pub const BAD_FILTER: &str = "A filter is not a user id or a time: ";
pub const SUPPORT_TITLE: &str = "Support access";
pub const SUPPORT_EXPLAIN: &str = "The vendor's support staff reach this tenant only through a request an administrator approves, for a limited time; every access is in the privacy log.";
pub const WHO_ASKS: &str = "Requested by";
pub const REASON: &str = "Reason";
pub const KIND: &str = "Access";
pub const UNTIL: &str = "Until";
pub const MINUTES: &str = "Minutes";
pub const ANSWER: &str = "Answer";
pub const APPROVE: &str = "Approve";
pub const DENY: &str = "Deny";
pub const REVOKE: &str = "Revoke";
pub const BREAK_GLASS: &str = "break-glass";
pub const NO_REQUESTS: &str = "No support request.";

// OAuth authorization (apps).
pub const AUTHORIZE_TITLE: &str = "Allow an app to use your account";
pub const AUTHORIZE_EXPLAIN: &str = "wants to use your account: it will see and do what you may see and do, until you disconnect it in your privacy centre. Your password stays with Strongroom.";
pub const ALLOW: &str = "Allow";
pub const DENY_APP: &str = "Do not allow";
pub const AUTHORIZE_BAD: &str = "This sign-in request cannot be answered: ";
pub const APPS_TITLE: &str = "Connected apps";
pub const APPS_EXPLAIN: &str =
    "Apps you allowed to use your account. Disconnecting one ends its sessions at once.";
pub const NO_APPS: &str = "No app is connected to your account.";
pub const SINCE: &str = "Allowed on";
pub const DISCONNECT: &str = "Disconnect";
pub const ANSWER_APP: &str = "Access";
pub const DISCONNECTED: &str = "The app is disconnected; its sessions have ended.";
pub const NAV_GROUPS: &str = "Groups";
pub const NAV_COLLECTIONS: &str = "Collections and records";
pub const NAV_RETENTION: &str = "Retention";
pub const NAV_CLIENTS: &str = "Integration clients and apps";
pub const NAV_REGISTERS: &str = "Registers";
pub const NAV_REPORT: &str = "TOM report";
pub const GROUPS_TITLE: &str = "Groups";
pub const GROUP_NAME: &str = "Group name";
pub const CREATE_GROUP: &str = "Create a group";
pub const MEMBERS: &str = "Members";
pub const ADD_MEMBER: &str = "Add or change a member";
pub const GROUP_ID: &str = "Group id";
pub const USER_ID: &str = "User id";
pub const MEMBER_ROLE: &str = "Role in the group";
pub const SAVE: &str = "Save";
pub const SAVED: &str = "Saved.";
pub const COLLECTIONS_TITLE: &str = "Collections and records";
pub const FIELDS_OF: &str = "Fields (name: type, personal, searchable)";
pub const CREATE_COLLECTION: &str = "Create a collection";
pub const COLLECTION_NAME: &str = "Collection name";
pub const FIELDS_SPEC: &str = "Fields, one per line: name type [personal] [searchable] [required] (types: string, integer, number, boolean, date)";
pub const OPEN_RECORD: &str = "Open a record";
pub const RECORD_ID: &str = "Record id";
pub const OPEN: &str = "Open";
pub const SEARCH_FIELD: &str = "Searchable field";
pub const SEARCH_VALUE: &str = "Value";
pub const SEARCH_RECORDS: &str = "Search records";
pub const RECORD_TITLE: &str = "Record";
pub const RECORD_EXPLAIN: &str =
    "Opening a record passes the access check and is written to the privacy log.";
pub const HISTORY: &str = "History";
pub const LEGAL_HOLD_ON: &str = "Put under legal hold";
pub const LEGAL_HOLD_OFF: &str = "Release the legal hold";
pub const RESTORE: &str = "Restore (undo a soft deletion)";
pub const DONE_MESSAGE: &str = "Done.";
pub const RETENTION_TITLE: &str = "Retention rules";
pub const RETENTION_EXPLAIN: &str =
    "Days from each event to what retention does next. Every change is in the privacy log.";
pub const CLIENTS_TITLE: &str = "Integration clients and apps";
pub const CREATE_CLIENT: &str = "Create an integration client";
pub const CREATE_APP: &str = "Register an app (public client)";
pub const SCOPES: &str = "Scopes, separated by spaces (records:read:<collection>, users:read, …)";
pub const REDIRECT_URIS: &str = "Redirect URIs, separated by spaces";
pub const CLIENT_SECRET: &str = "Client secret";
pub const CLIENT_ID: &str = "Client id";
pub const CLIENT_CREATED: &str =
    "Created. The secret is shown only now: store it in the program's configuration.";
pub const DELETE: &str = "Delete";
pub const OLDER: &str = "More";
pub const REGISTERS_TITLE: &str = "Registers";
pub const PROCESSORS: &str = "Processors";
pub const BREACHES: &str = "Breaches";
pub const DISCLOSURES: &str = "Disclosure requests";
pub const LOCATION: &str = "Location";
pub const PURPOSE: &str = "Purpose";
pub const DEADLINE: &str = "Deadline";
pub const REQUESTER: &str = "Requested by";
pub const OBJECT_UNTIL: &str = "Objection until";
pub const OBJECTION: &str = "Object (reason)";
pub const SEND_OBJECTION: &str = "Object";
pub const COLLECTION: &str = "Collection";
pub const CREATED: &str = "Created";
pub const OVERDUE: &str = "overdue";
pub const SAVE_LICENCE: &str = "Save the licence";
pub const LICENCE_SAVED: &str = "The licence is saved.";
pub const REPORT_TITLE: &str = "Technical and organisational measures";
