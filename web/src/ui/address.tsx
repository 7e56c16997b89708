// An address field that suggests the places the region knows as one types (its territories,
// and the streets and addresses of requests filed before; no outside geocoder), as a combobox:
// arrow keys move through the suggestions, Enter picks one, Escape closes them.
import { useEffect, useState } from 'preact/hooks';
import { get, query } from '../api';
import { formatNumber, useT } from '../i18n';

/** A place the gazetteer knows. */
export interface KnownPlace {
  label: string;
  label_en?: string;
  kind: 'territory' | 'street' | 'address';
  territory: string | null;
  lat: number;
  lon: number;
  requests: number;
}

const LIST_ID = 'address-places';

/** The address input with its suggestions; `onPick` gets the place chosen. */
export function AddressSearch(props: {
  value: string;
  onInput: (value: string) => void;
  onPick: (place: KnownPlace) => void;
  describedBy?: string;
}) {
  const { t, lang } = useT();
  const [places, setPlaces] = useState<KnownPlace[]>([]);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);

  useEffect(() => {
    const typed = props.value.trim();
    if (typed.length < 2 || !open) {
      setPlaces([]);
      return;
    }
    const timer = setTimeout(() => {
      get<KnownPlace[]>(`/places/search${query({ q: typed, limit: 8 })}`).then(
        (found) => {
          setPlaces(found);
          setActive(-1);
        },
        () => setPlaces([]),
      );
    }, 200);
    return () => clearTimeout(timer);
  }, [props.value, open]);

  const pick = (place: KnownPlace) => {
    setOpen(false);
    setPlaces([]);
    props.onPick(place);
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (!places.length) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const step = e.key === 'ArrowDown' ? 1 : -1;
      setActive((active + step + places.length) % places.length);
    } else if (e.key === 'Enter' && active >= 0) {
      e.preventDefault();
      pick(places[active]);
    } else if (e.key === 'Escape') {
      setOpen(false);
    }
  };
  const shown = open && places.length > 0;
  const name = (p: KnownPlace) => (lang === 'en' && p.label_en ? p.label_en : p.label);
  return (
    <div class="address-search">
      <input
        id="address"
        name="address"
        value={props.value}
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={shown}
        aria-controls={LIST_ID}
        aria-activedescendant={shown && active >= 0 ? `${LIST_ID}-${active}` : undefined}
        aria-describedby={props.describedBy}
        autoComplete="off"
        onInput={(e) => {
          setOpen(true);
          props.onInput((e.target as HTMLInputElement).value);
        }}
        onKeyDown={onKeyDown}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
      />
      <ul id={LIST_ID} role="listbox" aria-label={t('portal_address_places')} hidden={!shown}>
        {places.map((p, i) => (
          <li
            key={`${p.kind}-${p.label}`}
            id={`${LIST_ID}-${i}`}
            role="option"
            aria-selected={i === active}
            onMouseDown={(e) => {
              e.preventDefault();
              pick(p);
            }}
          >
            <span>{name(p)}</span>{' '}
            <small class="muted">
              {t(`place_kind_${p.kind}`)}
              {p.requests > 0 && ` · ${t('place_requests', { n: formatNumber(p.requests, lang) })}`}
            </small>
          </li>
        ))}
      </ul>
    </div>
  );
}
