import { clientResources } from './clients.js';
import { adminRouter } from './router.js';

export { ADMIN_API_PATH } from './router.js';

/** Every resource of the admin API, under ADMIN_API_PATH on the admin listener. */
export const handleAdminRequest = adminRouter([...clientResources]);
