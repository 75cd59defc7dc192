import { lazy, StrictMode, Suspense } from 'react';
import { createRoot } from 'react-dom/client';

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
