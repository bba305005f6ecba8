console.log("gallery");
