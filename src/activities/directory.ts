import type { IdentityConnector } from './identity';
import type { ManagerDirectory } from './slack/activities';

/**
 * Who manages whom, read from the identity provider: the person's account names its manager's account (SCIM
 * enterprise `manager.value`, which Tenure writes when it creates or updates an account), and that account carries
 * the manager's HR id (`externalId`). Used to escalate a manager's approval to the manager's manager.
 */
export function identityProviderDirectory(idp: IdentityConnector): ManagerDirectory {
  return {
    async managerOf(hrId: string): Promise<string | undefined> {
      const account = await idp.findByHrKey(hrId);
      if (!account?.managerId || !idp.findById) return undefined;
      const manager = await idp.findById(account.managerId);
      return manager?.hrId;
    },
  };
}
