export { html, SafeHtml } from './escape';
export { renderPage } from './layout';
export { renderSignInPage, type EmailStep, type PasswordStep, type SignInPage } from './sign-in.page';
export { renderOrganizationPage, type OrganizationPage } from './organization.page';
export { renderConsentPage, type ConsentPage } from './consent.page';
export { renderErrorPage } from './error.page';
export { sendPage } from './send-page';
export { renderPasswordSetPage, renderSetPasswordPage, type SetPasswordPage } from './set-password.page';
