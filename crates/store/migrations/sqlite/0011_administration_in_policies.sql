-- Administration became a Cedar decision like every other (readUsers, manageUsers,
-- manageGroups, exportUser, readPrivacyLog, manageTenant, managePolicies, manageRetention):
-- until now these were open to the administrator role by code. A tenant that stored its own
-- policies gets the permit the templates ship, so no administrator loses a right they had.
-- The version moves on, so every cached decision of the old set is left behind.
UPDATE tenant_policies
SET policies = policies || '

// Added by the upgrade that made administration a policy decision (migration 0011).
@id("administration-granted-by-upgrade") @role("administrator")
permit (
  principal,
  action in [Action::"readUsers", Action::"manageUsers", Action::"manageGroups",
             Action::"exportUser", Action::"readPrivacyLog", Action::"manageTenant",
             Action::"managePolicies", Action::"manageRetention"],
  resource is Tenant
)
when { principal.roles.contains("administrator") };
',
    version = version + 1;
