import type { ComponentChildren } from 'preact';
import type { Loaded } from '../hooks.js';

/** A loading line, the error (with what to do), or the view. */
export function Show<T>({ it, children }: { it: Loaded<T>; children: (v: T) => ComponentChildren }) {
  if (it.state === 'loading')
    return (
      <p class="muted" data-testid="loading">
        reading…
      </p>
    );
  if (it.state === 'error')
    return (
      <p class="error" data-testid="error">
        {it.error}
      </p>
    );
  return <>{children(it.value)}</>;
}

/** Two-column field table. */
export function Fields({ rows, testid }: { rows: [string, ComponentChildren][]; testid?: string }) {
  return (
    <table class="fields" data-testid={testid}>
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k} data-field={k}>
            <th>{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
