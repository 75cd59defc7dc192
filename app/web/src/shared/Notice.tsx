import type { ReactNode } from 'react';

/** A page that can only explain itself (no token, a link for another table, an ended session). */
export function Notice(props: { title: string; children: ReactNode }) {
  return (
    <main className="page notice">
      <h1>{props.title}</h1>
      <p>{props.children}</p>
    </main>
  );
}
