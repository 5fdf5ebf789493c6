/**
 * Keeps keyboard focus inside a modal while it is open (Tab and Shift+Tab wrap around), and
 * gives focus back to where it was when the modal opened, once it closes.
 */
import type { Ref } from 'vue';

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function focusableIn(container: HTMLElement): HTMLElement[] {
  return [...container.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((element) => !element.closest('[hidden]') && element.getClientRects().length > 0);
}

/** What can hold focus: HTML controls, and SVG elements with a tabindex (the topology's nodes). */
type Focusable = HTMLElement | SVGElement;

function focusedElement(): Focusable | null {
  const active = document.activeElement;
  return active instanceof HTMLElement || active instanceof SVGElement ? active : null;
}

export function useFocusTrap(container: Ref<HTMLElement | null>) {
  let returnTo: Focusable | null = null;

  /** Call on open: remembers the focused element and focuses `first` (or the first focusable element). */
  function activate(first?: HTMLElement | null): void {
    returnTo = focusedElement();
    const target = first ?? (container.value === null ? null : (focusableIn(container.value)[0] ?? container.value));
    target?.focus();
  }

  /** Call on close: focus goes back where it was, or to `fallback` when that element is gone. */
  function release(fallback?: Focusable | null): void {
    const back = returnTo !== null && returnTo.isConnected && returnTo !== document.body ? returnTo : (fallback ?? null);
    returnTo = null;
    back?.focus();
  }

  /** The keydown handler for the modal's root. */
  function onKeydown(event: KeyboardEvent): void {
    if (event.key !== 'Tab' || container.value === null) return;
    const items = focusableIn(container.value);
    if (items.length === 0) {
      event.preventDefault();
      return;
    }
    const first = items[0]!;
    const last = items[items.length - 1]!;
    const active = document.activeElement;
    if (event.shiftKey && (active === first || !container.value.contains(active))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || !container.value.contains(active))) {
      event.preventDefault();
      first.focus();
    }
  }

  return { activate, release, onKeydown };
}

/**
 * After an action that removes or disables the control that did it (Heal all with nothing left,
 * an Undo whose row goes, Run while a scenario runs), focus goes to the first of `selectors` that
 * is there and usable, rather than falling back to the page's body.
 */
export function focusAfter(...selectors: string[]): void {
  requestAnimationFrame(() => {
    const active = focusedElement();
    if (active !== null && active !== document.body && !(active as HTMLButtonElement).disabled) return;
    focusFirst(selectors);
  });
}

/** Focuses the first of `selectors` that is there and usable. */
export function focusFirst(selectors: readonly string[]): void {
  for (const selector of selectors) {
    const target = document.querySelector<HTMLElement>(selector);
    if (target !== null && !(target as HTMLButtonElement).disabled) {
      target.focus();
      return;
    }
  }
}
