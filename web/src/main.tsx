// Entry point: reads the session, then renders the app.
import { render } from 'preact';
import { App } from './app';
import { loadMe } from './session';
import './styles.css';

loadMe().catch(() => undefined);
render(<App />, document.getElementById('app')!);
