"""One message's path: the chat service, the Rasa client, the conversation log, masking, ids."""
