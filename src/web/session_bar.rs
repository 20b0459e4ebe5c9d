//! Who is signed in, at the top of every page: their name and role with a
//! "Sign out", or the sign-in form (a name and password, or the operator
//! token alone). The pages re-read their data when this changes.

use leptos::prelude::*;

use crate::model::Me;
use crate::web::auth::{get_me, Login, Logout};
use crate::web::show::show_or;

/// The sign-in and sign-out actions, shared by the bar and the pages (which
/// re-read when either runs), and who is signed in.
#[derive(Clone, Copy)]
pub struct Session {
    pub login: ServerAction<Login>,
    pub logout: ServerAction<Logout>,
    me: Resource<Result<Me, ServerFnError>>,
    /// Bumped to read who is signed in again (see [`Session::recheck`]).
    rechecks: RwSignal<u32>,
}

impl Session {
    pub fn provide() -> Session {
        let (login, logout) = (ServerAction::<Login>::new(), ServerAction::<Logout>::new());
        let rechecks = RwSignal::new(0);
        let me = Resource::new(move || (login.version().get(), logout.version().get(), rechecks.get()), |_| get_me());
        let session = Session { login, logout, me, rechecks };
        provide_context(session);
        session
    }

    /// Changes whenever someone signs in or out here: a page's resources read it.
    pub fn version(self) -> (usize, usize) {
        (self.login.version().get(), self.logout.version().get())
    }

    /// Who is signed in (nobody until known).
    pub fn me(self) -> Me {
        self.me.get().and_then(Result::ok).unwrap_or_default()
    }

    /// Reads who is signed in again, if the bar still shows someone: the
    /// server refused a page's data for want of a session, which ended
    /// after the page was made (signed out in another tab, or expired).
    /// Without it the bar kept a name and hid the form until a reload.
    fn recheck(self) {
        if untrack(|| self.me().signed_in()) {
            self.rechecks.update(|n| *n += 1);
        }
    }
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// What a page shows when it cannot read its data: a plain "sign in" when
/// that is why (the form is at the top), else the error itself.
pub fn unreadable(e: ServerFnError) -> impl IntoView {
    if crate::web::auth::wants_sign_in(&e) {
        // In the browser only (effects never run on the server).
        let session = use_session();
        Effect::new(move |_| session.recheck());
        leptos::either::Either::Left(view! {
            <p class="banner" data-testid="sign-in-needed">"Sign in to see AOL's queue, channels and history."</p>
        })
    } else {
        leptos::either::Either::Right(view! {
            <p class="banner banner-error" role="alert" data-testid="state-unreadable">
                "Cannot read AOL's state (" {e.to_string()} "). Trying again at the next change…"
            </p>
        })
    }
}

#[component]
pub fn SessionBar() -> impl IntoView {
    let session = use_session();
    let me = move || session.me();
    view! {
        <Transition fallback=|| ()>
            {show_or(move || me().signed_in(), move || view! { <SignedIn me=me()/> }, move || view! { <SignInForm/> })}
        </Transition>
    }
}

#[component]
fn SignedIn(me: Me) -> impl IntoView {
    let session = use_session();
    let role = me.role.map(|r| r.as_str()).unwrap_or_default();
    view! {
        <p class="session-bar" data-testid="session-bar">
            "Signed in as " <strong data-testid="signed-in-as">{me.who.unwrap_or_default()}</strong>
            " · " <span data-testid="signed-in-role">{role}</span> " · "
            <button class="btn-link" data-testid="sign-out" on:click=move |_| { session.logout.dispatch(Logout {}); }>
                "Sign out"
            </button>
        </p>
    }
}

/// A person's name and password; with no name, the operator token.
#[component]
fn SignInForm() -> impl IntoView {
    let session = use_session();
    let name = RwSignal::new(String::new());
    let secret = RwSignal::new(String::new());
    let error = move || session.login.value().get().and_then(Result::err).map(|e| e.to_string());
    view! {
        <form class="token-form" data-testid="token-form" on:submit=move |ev| {
            ev.prevent_default();
            session.login.dispatch(Login { name: name.get_untracked(), secret: secret.get_untracked() });
            secret.set(String::new());
        }>
            <label for="sign-in-name">"Name"</label>
            <input
                id="sign-in-name"
                data-testid="sign-in-name"
                type="text"
                autocomplete="username"
                placeholder="blank: operator token"
                prop:value=move || name.get()
                on:input=move |ev| name.set(event_target_value(&ev))
            />
            <label for="sign-in-secret">"Password"</label>
            <input
                id="sign-in-secret"
                data-testid="token-input"
                type="password"
                autocomplete="current-password"
                prop:value=move || secret.get()
                on:input=move |ev| secret.set(event_target_value(&ev))
            />
            <button class="btn" type="submit" data-testid="token-submit">"Sign in"</button>
            {move || error().map(|e| view! { <span class="error-text" role="alert">{e}</span> })}
        </form>
    }
}
