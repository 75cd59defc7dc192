import { lazy, StrictMode, Suspense } from 'react';
import { createRoot } from 'react-dom/client';
import { prefetchMenu } from './shared/menu-prefetch';
import { runtimeConfig } from './shared/runtime-config';
import { registerServiceWorker } from './shared/service-worker';
import { captureSessionToken } from './shared/session';
import './styles.css';

// Before anything else runs: the token leaves the address bar and the history entry at once.
captureSessionToken();
// Both routes need the runtime config: fetch it while their chunk loads, not after (index.html
// preloads it). The guest route's menu request starts as soon as the config is in.
if (/^\/(t|kitchen)\//.test(location.pathname)) runtimeConfig().catch(() => undefined);
const guestPath = /^\/t\/([^/]+)\/([^/]+)\/?$/.exec(location.pathname);
// Only online: offline, the page's own request is answered by the service worker's copy.
if (guestPath && navigator.onLine) prefetchMenu(decodeURIComponent(guestPath[1]!));

// Each route is its own chunk: a guest's phone never downloads the kitchen screen.
const GuestPage = lazy(() => import('./guest/GuestPage'));
const KitchenPage = lazy(() => import('./kitchen/KitchenPage'));

function App() {
  const guest = /^\/t\/([^/]+)\/([^/]+)\/?$/.exec(location.pathname);
  if (guest) return <GuestPage restaurantId={decodeURIComponent(guest[1]!)} tableId={decodeURIComponent(guest[2]!)} />;
  const kitchen = /^\/kitchen\/([^/]+)\/?$/.exec(location.pathname);
  if (kitchen) return <KitchenPage restaurantId={decodeURIComponent(kitchen[1]!)} />;
  return <p>Scan the QR code on your table to order.</p>;
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Suspense fallback={null}>
      <App />
    </Suspense>
  </StrictMode>,
);

registerServiceWorker();
