// Building blocks shared by the screens: errors, form fields, status badges, tables.
import { ComponentChildren } from 'preact';
import { ApiError } from '../api';
import { statusName, useT } from '../i18n';

/** An error as a reader understands it: the server's message, or a network failure. */
export function ErrorMessage({ error }: { error: unknown }) {
  const { t } = useT();
  if (!error) return null;
  let text: string;
  if (error instanceof ApiError) {
    if (error.status === 0) text = t('error_network');
    else if (error.status === 401) text = t('need_login');
    else if (error.status === 403) text = `${t('forbidden')}: ${error.detail}`;
    else if (error.status === 404) text = error.detail || t('not_found');
    else text = [error.detail || error.title, ...error.errors.map((e) => `${e.field}: ${e.message}`)].join(' — ');
  } else {
    text = String(error);
  }
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}

/** A labelled form control with its hint and its error shown beside it. */
export function Field(props: { id: string; label: string; hint?: string; error?: string; children: ComponentChildren }) {
  return (
    <div class={props.error ? 'field invalid' : 'field'}>
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint && !props.error && (
        <small id={`${props.id}-hint`} class="hint">
          {props.hint}
        </small>
      )}
      {props.error && (
        <small id={`${props.id}-error`} class="field-error" role="alert">
          {props.error}
        </small>
      )}
    </div>
  );
}

/** A request's status as a coloured badge. */
export function StatusBadge({ status }: { status: string }) {
  const { lang } = useT();
  return <span class={`badge status-${status}`}>{statusName(status, lang)}</span>;
}

/** The loading notice. */
export function Loading() {
  const { t } = useT();
  return (
    <p class="muted" aria-live="polite">
      {t('loading')}
    </p>
  );
}

/** A titled block of a screen. */
export function Section(props: { title: string; children: ComponentChildren; class?: string; id?: string }) {
  return (
    <section class={`card ${props.class ?? ''}`} id={props.id} aria-label={props.title}>
      <h2>{props.title}</h2>
      {props.children}
    </section>
  );
}

/** A drop-down of `options` ([value, label]) led by `empty` (the empty value, e.g. "all")
 * when given. */
export function Choice(props: {
  id?: string;
  name?: string;
  value: string;
  options: [string, string][];
  empty?: string;
  onChange: (value: string) => void;
  invalid?: boolean;
  describedBy?: string;
}) {
  return (
    <select
      id={props.id}
      name={props.name ?? props.id}
      value={props.value}
      onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}
      aria-invalid={props.invalid}
      aria-describedby={props.describedBy}
    >
      {props.empty !== undefined && <option value="">{props.empty}</option>}
      {props.options.map(([value, label]) => (
        <option key={value} value={value}>
          {label}
        </option>
      ))}
    </select>
  );
}

/** One of a few `options` ([value, label]) as a row of radio buttons, the chosen one lit;
 * `legend` names the group for screen readers. */
export function Segmented<T extends string>(props: { name: string; legend: string; value: T; options: [T, string][]; onChange: (value: T) => void }) {
  return (
    <fieldset class="segmented">
      <legend class="visually-hidden">{props.legend}</legend>
      {props.options.map(([value, label]) => (
        <label key={value} class={props.value === value ? 'on' : ''}>
          <input type="radio" name={props.name} value={value} checked={props.value === value} onChange={() => props.onChange(value)} />
          {label}
        </label>
      ))}
    </fieldset>
  );
}
