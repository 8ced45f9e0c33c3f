// The classic Socket.IO chat client (socket.io/examples/chat), without jQuery.
(() => {
  "use strict";
  const FADE_TIME = 150; // ms
  const TYPING_TIMER_LENGTH = 400; // ms
  const COLORS = [
    "#e21400", "#91580f", "#f8a700", "#f78b00",
    "#58dc00", "#287b00", "#a8f07a", "#4ae8c4",
    "#3b88eb", "#3824aa", "#a700ff", "#d300e7",
  ];

  const usernameInput = document.querySelector(".usernameInput");
  const messages = document.querySelector(".messages");
  const inputMessage = document.querySelector(".inputMessage");
  const loginPage = document.querySelector(".login.page");
  const chatPage = document.querySelector(".chat.page");
  const whoami = document.querySelector(".whoami");

  let username;
  let connected = false;
  let typing = false;
  let lastTypingTime;
  let currentInput = usernameInput;

  // The page is served beside the Socket.IO server: same origin, default path /socket.io/.
  const socket = io();

  const addParticipantsMessage = (data) => {
    log(data.numUsers === 1 ? "there's 1 participant" : `there are ${data.numUsers} participants`);
  };

  const setUsername = () => {
    username = usernameInput.value.trim();
    if (username) {
      loginPage.style.display = "none";
      chatPage.style.display = "block";
      loginPage.onclick = null;
      currentInput = inputMessage;
      inputMessage.focus();
      socket.emit("add user", username);
    }
  };

  const sendMessage = () => {
    const message = inputMessage.value;
    if (message && connected) {
      inputMessage.value = "";
      addChatMessage({ username, message });
      socket.emit("new message", message);
    }
  };

  const log = (message, options) => {
    const el = document.createElement("li");
    el.className = "log";
    el.textContent = message;
    addMessageElement(el, options);
  };

  const addChatMessage = (data, options = {}) => {
    const typingMessages = getTypingMessages(data);
    if (typingMessages.length !== 0) {
      options.fade = false;
      typingMessages.forEach((el) => el.remove());
    }
    const usernameDiv = document.createElement("span");
    usernameDiv.className = "username";
    usernameDiv.textContent = data.username;
    usernameDiv.style.color = getUsernameColor(data.username);
    const messageBodyDiv = document.createElement("span");
    messageBodyDiv.className = "messageBody";
    messageBodyDiv.textContent = data.message;
    const messageDiv = document.createElement("li");
    messageDiv.className = "message" + (data.typing ? " typing" : "");
    messageDiv.dataset.username = data.username;
    messageDiv.append(usernameDiv, messageBodyDiv);
    addMessageElement(messageDiv, options);
  };

  const addChatTyping = (data) => {
    data.typing = true;
    data.message = "is typing";
    addChatMessage(data);
  };

  const removeChatTyping = (data) => {
    getTypingMessages(data).forEach((el) => {
      el.style.transition = `opacity ${FADE_TIME}ms`;
      el.style.opacity = "0";
      setTimeout(() => el.remove(), FADE_TIME);
    });
  };

  const addMessageElement = (el, options = {}) => {
    if (options.fade !== false) {
      el.style.opacity = "0";
      el.style.transition = `opacity ${FADE_TIME}ms`;
      requestAnimationFrame(() => { el.style.opacity = "1"; });
    }
    if (options.prepend) {
      messages.prepend(el);
    } else {
      messages.append(el);
    }
    messages.scrollTop = messages.scrollHeight;
  };

  const updateTyping = () => {
    if (!connected) return;
    if (!typing) {
      typing = true;
      socket.emit("typing");
    }
    lastTypingTime = Date.now();
    setTimeout(() => {
      const timeDiff = Date.now() - lastTypingTime;
      if (timeDiff >= TYPING_TIMER_LENGTH && typing) {
        socket.emit("stop typing");
        typing = false;
      }
    }, TYPING_TIMER_LENGTH);
  };

  const getTypingMessages = (data) =>
    [...messages.querySelectorAll(".typing.message")].filter((el) => el.dataset.username === data.username);

  const getUsernameColor = (name) => {
    let hash = 7;
    for (let i = 0; i < name.length; i++) {
      hash = name.charCodeAt(i) + (hash << 5) - hash;
    }
    return COLORS[Math.abs(hash % COLORS.length)];
  };

  window.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey || event.metaKey || event.altKey)) {
      currentInput.focus();
    }
    if (event.key === "Enter") {
      if (username) {
        sendMessage();
        socket.emit("stop typing");
        typing = false;
      } else {
        setUsername();
      }
    }
  });

  inputMessage.addEventListener("input", () => updateTyping());
  loginPage.onclick = () => usernameInput.focus();
  chatPage.onclick = () => inputMessage.focus();

  socket.on("login", (data) => {
    connected = true;
    log("Welcome to Socket.IO Chat – ", { prepend: true });
    addParticipantsMessage(data);
  });
  socket.on("new message", (data) => addChatMessage(data));
  socket.on("user joined", (data) => {
    log(`${data.username} joined`);
    addParticipantsMessage(data);
  });
  socket.on("user left", (data) => {
    log(`${data.username} left`);
    addParticipantsMessage(data);
    removeChatTyping(data);
  });
  socket.on("typing", (data) => addChatTyping(data));
  socket.on("stop typing", (data) => removeChatTyping(data));
  socket.io.on("reconnect", () => {
    log("you have been reconnected");
    if (username) socket.emit("add user", username);
  });
  socket.on("disconnect", () => log("you have been disconnected"));
  socket.io.on("reconnect_error", () => log("attempt to reconnect has failed"));

  // The framework examples (gin, echo, chi) have a namespace /private that admits the users their auth
  // middleware signed in (GET /login); elsewhere the namespace does not exist and this stays hidden.
  const priv = io("/private");
  priv.on("welcome", (data) => {
    whoami.textContent = `Signed in as ${data.user} (${data.via})`;
    whoami.hidden = false;
    if (!usernameInput.value) usernameInput.value = data.user;
  });
  priv.on("connect_error", () => { whoami.hidden = true; });
})();
