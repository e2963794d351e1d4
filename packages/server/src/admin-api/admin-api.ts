import { adminResources } from './admins.js';
import { auditResources } from './audit.js';
import { clientResources } from './clients.js';
import { introspectorResources } from './introspectors.js';
import { keyResources } from './keys.js';
import { adminRouter } from './router.js';
import { statsResources } from './stats.js';

export { ADMIN_API_PATH } from './router.js';

/** Every resource of the admin API, under ADMIN_API_PATH on the admin listener. */
export const handleAdminRequest = adminRouter([
  ...clientResources,
  ...keyResources,
  ...introspectorResources,
  ...adminResources,
  ...auditResources,
  ...statsResources,
]);
